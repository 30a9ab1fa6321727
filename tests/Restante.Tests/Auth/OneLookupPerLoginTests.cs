using Microsoft.Extensions.Logging.Abstractions;
using Restante.Auth;
using Restante.Hosting;
using Restante.Pop3;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Auth;

/// <summary>
/// With per-user policies possible (the bounds leave room for a user's EXPIRE), a login reads the user's record once:
/// the password check's lookup also serves the policy. Counted around the real passwd file, over real sockets.
/// </summary>
public class OneLookupPerLoginTests
{
    [Fact]
    public async Task User_pass_and_apop_each_look_the_user_up_once_and_the_policy_comes_from_that_record()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret::::::userdb_pop3_expire=0\n");
        var users = new CountingDirectory(new PasswdFile(Path.Combine(data.Path, "passwd")));
        var pop3 = new Pop3Options { Hostname = "test.example" };
        pop3.Policies.MinUserExpire = "0";
        var options = new RestanteOptions { DataDirectory = data.Path, Pop3 = ["127.0.0.1:0"], Fsync = false };
        await using var server = new Pop3Server(options, pop3, NullLoggerFactory.Instance, users: users);
        await server.StartAsync();

        await using (var c = await Transcript.ConnectAsync(server.Pop3EndPoints[0]))
        {
            await c.ExpectAsync("+OK");
            await c.SendAsync("USER alice");
            await c.ExpectAsync("+OK");
            var before = users.Lookups;
            await c.SendAsync("PASS secret");
            await c.ExpectAsync("+OK");
            Assert.Equal(1, users.Lookups - before);
            await c.SendAsync("CAPA");
            var capa = await c.ReadMultiLineAsync();
            Assert.Contains("EXPIRE 0", capa);   // alice's own field, from the record the check found
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }

        await using (var c = await Transcript.ConnectAsync(server.Pop3EndPoints[0]))
        {
            var greeting = await c.ReadLineAsync() ?? "";
            var timestamp = greeting[greeting.IndexOf('<')..(greeting.IndexOf('>') + 1)];
            var before = users.Lookups;
            await c.SendAsync($"APOP alice {ApopDigest.Compute(timestamp, "secret")}");
            await c.ExpectAsync("+OK");
            Assert.Equal(1, users.Lookups - before);
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
        }
    }

    private sealed class CountingDirectory(IUserDirectory inner) : IUserDirectory
    {
        private int _lookups;

        public int Lookups => Volatile.Read(ref _lookups);

        public ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _lookups);
            return inner.FindAsync(name, cancellationToken);
        }

        public bool HasApopSecrets => inner.HasApopSecrets;
    }
}
