using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Restante.Networking;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Tls;

/// <summary>
/// TLS session resumption with real clients: openssl s_client saving its session and presenting it on
/// the next connection ("Reused" or "New" in its report), and a .NET client whose second handshake is
/// measured: a resumed one brings no certificate, so the server sends fewer bytes than the certificate has.
/// </summary>
public class TlsResumptionTests
{
    private const string Login = "USER alice\nPASS secret\nQUIT\n";

    [Theory]
    [InlineData(true, "-tls1_3")]
    [InlineData(true, "-tls1_2")]
    [InlineData(false, "-tls1_3")]
    [InlineData(false, "-tls1_2")]
    public async Task Openssl_resumes_its_saved_session_over_pop3s_and_stls(bool implicitTls, string protocol)
    {
        await using var server = await StartAsync(resumption: true);
        var port = implicitTls ? server.Server.Pop3sEndPoints[0].Port : server.Port;
        var session = Path.Combine(server.Data.Path, "session.pem");

        var first = await SClientAsync(server.CertificatePath, port, implicitTls, protocol, "-sess_out", session);
        Assert.Contains($"New, {ProtocolName(protocol)}", first, StringComparison.Ordinal);
        Assert.Contains("+OK Logged in", first, StringComparison.Ordinal);

        var second = await SClientAsync(server.CertificatePath, port, implicitTls, protocol, "-sess_in", session);
        Assert.Contains($"Reused, {ProtocolName(protocol)}", second, StringComparison.Ordinal);
        Assert.Contains("+OK Logged in", second, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_dotnet_client_resumes_and_then_gets_no_certificate_unless_resumption_is_off(bool resumption)
    {
        await using var server = await StartAsync(resumption);
        var pop3s = server.Server.Pop3sEndPoints[0];
        var certificateLength = server.Server.Certificates!.Current.Certificate.RawData.Length;
        // .NET keeps one session per target host name, process-wide: a name of this test's own, so that
        // other tests' handshakes to "localhost" cannot replace the session between the two connections.
        var host = $"resume-{Guid.NewGuid():N}.localhost";

        var first = await HandshakeBytesAsync(pop3s, host, server.TrustServerCertificate);
        var second = await HandshakeBytesAsync(pop3s, host, server.TrustServerCertificate);

        Assert.True(first > certificateLength, $"a full handshake carries the {certificateLength}-byte certificate; the server sent {first} bytes");
        if (resumption)
            Assert.True(second < certificateLength, $"a resumed handshake carries no certificate; the server sent {second} bytes ({certificateLength} in the certificate)");
        else
            Assert.True(second > certificateLength, $"with TlsResumption off every handshake is full; the server sent {second} bytes");
    }

    /// <summary>
    /// The `restante serve` program with <c>"TlsResumption": false</c> in its configuration file: a saved
    /// TLS 1.3 or TLS 1.2 session is not resumed, and curl over POP3S and STLS works as before.
    /// </summary>
    [Fact]
    public async Task Serve_with_TlsResumption_false_resumes_nothing_and_curl_still_works()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var pop3s = ServerProcess.FreePort();
        var configPath = Path.Combine(data.Path, "restante.json");
        await File.WriteAllTextAsync(configPath, new JsonObject { ["Pop3s"] = new JsonArray($"127.0.0.1:{pop3s}"), ["TlsResumption"] = false }.ToJsonString());
        await using var server = await ServerProcess.StartAsync(data.Path, null, "--config", configPath);
        var certificate = Path.Combine(data.Path, "tls", "cert.pem");
        var session = Path.Combine(data.Path, "session.pem");

        foreach (var (protocol, name) in new[] { ("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2") })
        {
            var first = await SClientAsync(certificate, pop3s, implicitTls: true, protocol, "-sess_out", session);
            Assert.Contains($"New, {name}", first, StringComparison.Ordinal);
            Assert.Contains("+OK Logged in", first, StringComparison.Ordinal);
            var second = await SClientAsync(certificate, pop3s, implicitTls: true, protocol, "-sess_in", session);
            Assert.Contains($"New, {name}", second, StringComparison.Ordinal);
            Assert.Contains("+OK Logged in", second, StringComparison.Ordinal);
        }

        var (exit, log) = await Processes.RunAsync("curl", null, "-sS", "--max-time", "20", "--cacert", certificate, $"pop3s://alice:secret@127.0.0.1:{pop3s}/");
        Assert.True(exit == 0, log);
        var (stls, stlsLog) = await Processes.RunAsync("curl", null, "-sS", "--max-time", "20", "--ssl-reqd", "--cacert", certificate,
            $"pop3://alice:secret@localhost:{server.Port}/");
        Assert.True(stls == 0, stlsLog);
    }

    /// <summary>
    /// SIGHUP re-reads the certificate. The same certificate again: saved sessions still resume. A new
    /// certificate: a session from the old one is not resumed (it was authenticated by the old key), the
    /// client makes a full handshake, verifies the new certificate and logs in.
    /// </summary>
    [LinuxFact("sends SIGHUP")]
    public async Task After_a_reload_to_a_new_certificate_an_old_session_gets_a_full_handshake_and_logs_in()
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret\n");
        var a = Path.Combine(data.Path, "cert-a");
        var b = Path.Combine(data.Path, "cert-b");
        DevCertificate.Create(a).Dispose();
        DevCertificate.Create(b).Dispose();
        var pop3s = ServerProcess.FreePort();
        var configPath = Path.Combine(data.Path, "restante.json");
        var config = new JsonObject
        {
            ["Pop3s"] = new JsonArray($"127.0.0.1:{pop3s}"),
            ["TlsCertificate"] = DevCertificate.CertificatePath(a),
            ["TlsKey"] = DevCertificate.KeyPath(a),
        };
        await File.WriteAllTextAsync(configPath, config.ToJsonString());
        await using var server = await ServerProcess.StartAsync(data.Path, null, "--config", configPath);
        var session = Path.Combine(data.Path, "session.pem");

        var first = await SClientAsync(DevCertificate.CertificatePath(a), pop3s, implicitTls: true, "-tls1_3", "-sess_out", session);
        Assert.Contains("New, TLSv1.3", first, StringComparison.Ordinal);

        await ReloadAsync(server);
        var sameCertificate = await SClientAsync(DevCertificate.CertificatePath(a), pop3s, implicitTls: true, "-tls1_3", "-sess_in", session);
        Assert.Contains("Reused, TLSv1.3", sameCertificate, StringComparison.Ordinal);
        Assert.Contains("+OK Logged in", sameCertificate, StringComparison.Ordinal);

        config["TlsCertificate"] = DevCertificate.CertificatePath(b);
        config["TlsKey"] = DevCertificate.KeyPath(b);
        await File.WriteAllTextAsync(configPath, config.ToJsonString());
        await ReloadAsync(server);
        var newCertificate = await SClientAsync(DevCertificate.CertificatePath(b), pop3s, implicitTls: true, "-tls1_3", "-sess_in", session);
        Assert.Contains("New, TLSv1.3", newCertificate, StringComparison.Ordinal);
        Assert.Contains("Verify return code: 0 (ok)", newCertificate, StringComparison.Ordinal);
        Assert.Contains("+OK Logged in", newCertificate, StringComparison.Ordinal);
    }

    private static async Task<TestServer> StartAsync(bool resumption)
    {
        var server = await TestServer.StartAsync(configureServer: o =>
        {
            o.Pop3s = ["127.0.0.1:0"];
            o.TlsResumption = resumption;
        });
        server.AddUser("alice", "secret");
        return server;
    }

    private static string ProtocolName(string option) => option == "-tls1_3" ? "TLSv1.3" : "TLSv1.2";

    /// <summary>One s_client session that logs in and quits, verifying the server against <paramref name="caFile"/>; its whole report.</summary>
    private static async Task<string> SClientAsync(string caFile, int port, bool implicitTls, string protocol, params string[] session)
    {
        List<string> arguments = ["s_client", protocol, "-connect", $"127.0.0.1:{port}", "-crlf", "-ign_eof",
            "-CAfile", caFile, "-verify_return_error", "-verify_hostname", "localhost"];
        if (!implicitTls) arguments.AddRange(["-starttls", "pop3"]);
        arguments.AddRange(session);
        var (exit, output) = await Processes.RunAsync("openssl", Login, [.. arguments]);
        Assert.True(exit == 0, output);
        Assert.Contains("+OK Logging out.", output, StringComparison.Ordinal);
        return output;
    }

    /// <summary>Connects over implicit TLS as <paramref name="host"/>, reads the greeting, and returns how many bytes the server sent during the handshake.</summary>
    private static async Task<long> HandshakeBytesAsync(IPEndPoint endPoint, string host, RemoteCertificateValidationCallback trust)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint);
        var meter = new ReadCounter(new NetworkStream(socket, ownsSocket: false));
        await using var tls = new SslStream(meter, leaveInnerStreamOpen: false);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = host,
            // The name is made up; the certificate is pinned instead.
            RemoteCertificateValidationCallback = (sender, certificate, chain, _) => trust(sender, certificate, chain, SslPolicyErrors.None),
        });
        var handshake = meter.BytesRead;
        // The greeting: TLS 1.3 tickets arrive after the handshake and are taken in by this read.
        var buffer = new byte[512];
        var read = await tls.ReadAsync(buffer);
        Assert.StartsWith("+OK", System.Text.Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
        await tls.WriteAsync("QUIT\r\n"u8.ToArray());
        while (await tls.ReadAsync(buffer) > 0)
        {
        }
        return handshake;
    }

    private static async Task ReloadAsync(ServerProcess server)
    {
        static int Reloads(ServerProcess s) => s.Output.Count(l => l.Contains("Configuration reloaded", StringComparison.Ordinal));
        var before = Reloads(server);
        server.Signal("HUP");
        for (var i = 0; i < 300 && Reloads(server) == before; i++) await Task.Delay(50);
        Assert.True(Reloads(server) > before, string.Join("\n", server.Output.TakeLast(30)));
    }

    /// <summary>Passes bytes through and counts those read.</summary>
    private sealed class ReadCounter(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            BytesRead += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
