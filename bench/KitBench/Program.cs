using System.Diagnostics;
using Restante.Testing;

// Issue 11's goals for the test kit: a server starts in under 50 ms and a login + RETR round trip
// takes under 5 ms, so a suite can afford one server per test.
//   dotnet run -c Release --project bench/KitBench [rounds]
// Prints the median and 90th percentile of: StartAsync (TLS on, the default), StartAsync with TLS off,
// DisposeAsync, and connect + greeting + USER/PASS + RETR 1 + QUIT (until the server closes) over a fresh connection.
var rounds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 200;
const string message = "Subject: bench\r\n\r\nhello\r\n";

// Warm-up: JIT, the first certificate, the thread pool.
for (var i = 0; i < 20; i++) await (await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", message))).DisposeAsync();

var start = new List<double>();
var startNoTls = new List<double>();
var dispose = new List<double>();
for (var i = 0; i < rounds; i++)
{
    var clock = Stopwatch.StartNew();
    var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", message));
    start.Add(clock.Elapsed.TotalMilliseconds);
    clock.Restart();
    await mail.DisposeAsync();
    dispose.Add(clock.Elapsed.TotalMilliseconds);

    clock.Restart();
    var plain = await Pop3TestServer.StartAsync(o => { o.Tls = false; o.AddUser("alice", "pw", message); });
    startNoTls.Add(clock.Elapsed.TotalMilliseconds);
    await plain.DisposeAsync();
}

var roundTrip = new List<double>();
await using (var mail = await Pop3TestServer.StartAsync(o => o.AddUser("alice", "pw", message)))
{
    for (var i = 0; i < rounds + 20; i++)
    {
        var clock = Stopwatch.StartNew();
        await using (var c = await mail.LoginAsync("alice", "pw"))
        {
            await c.SendAsync("RETR 1");
            await c.ExpectAsync("+OK");
            await c.ReadMultilineAsync();
            await c.SendAsync("QUIT");
            await c.ExpectAsync("+OK");
            // The server releases the mailbox after flushing QUIT's +OK; its close says it is done.
            await c.ReadToEndAsync();
        }
        if (i >= 20) roundTrip.Add(clock.Elapsed.TotalMilliseconds);
    }
}

Report("StartAsync (TLS on)", start, goal: 50);
Report("StartAsync (TLS off)", startNoTls, goal: 50);
Report("DisposeAsync", dispose, goal: null);
Report("login + RETR + QUIT", roundTrip, goal: 5);

static void Report(string what, List<double> samples, double? goal)
{
    samples.Sort();
    double At(double q) => samples[(int)Math.Min(samples.Count - 1, Math.Floor(q * samples.Count))];
    Console.WriteLine(System.FormattableString.Invariant(
        $"{what,-22} median {At(0.5),7:F2} ms   p90 {At(0.9),7:F2} ms   max {samples[^1],7:F2} ms{(goal is { } g ? $"   goal < {g} ms" : "")}"));
}
