using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Restante.Soak;

// Soak test: starts a Restante server on a fresh data directory, runs hundreds of concurrent
// misbehaving POP3 sessions and LMTP deliveries for a while, then checks every mailbox against a
// ledger of what was acknowledged. Usage (see bench/soak.sh):
//   Restante.Soak --server PATH/Restante.Cli.dll [--duration 180] [--concurrency 200] [--users 40]
var options = Args.Parse(args);
var data = Path.Combine(Path.GetTempPath(), "restante-soak-" + Environment.ProcessId);
Directory.CreateDirectory(data);
const string password = "soak-password";
var users = Enumerable.Range(1, options.Users).Select(i => $"soak{i:D3}").ToArray();
File.WriteAllLines(Path.Combine(data, "passwd"), users.Select(u => $"{u}:{{PLAIN}}{password}"));

var pop3 = new IPEndPoint(IPAddress.Loopback, FreePort());
var lmtp = new IPEndPoint(IPAddress.Loopback, FreePort());
var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
foreach (var a in new[] { options.Server, "serve", "--data", data, "--pop3", pop3.ToString(), "--lmtp", lmtp.ToString(), "--log-level", "Warning" })
    start.ArgumentList.Add(a);
start.Environment["RESTANTE_AuthFailureDelay"] = "00:00:00.200";
using var server = Process.Start(start)!;
var serverLog = new List<string>();
server.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (serverLog) serverLog.Add(e.Data); };
server.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (serverLog) serverLog.Add(e.Data); };
server.BeginOutputReadLine();
server.BeginErrorReadLine();
await WaitForPortAsync(pop3);
await WaitForPortAsync(lmtp);

var ledgers = users.ToDictionary(u => u, _ => new Ledger());
var counters = new Counters();
var workers = new Workers(pop3, lmtp, users, password, ledgers, counters);
long peakRss = 0;
using var load = new CancellationTokenSource(TimeSpan.FromSeconds(options.Duration));
var sampler = Task.Run(async () =>
{
    while (!load.IsCancellationRequested)
    {
        peakRss = Math.Max(peakRss, ReadStatusKb(server.Id, "VmRSS"));
        try { await Task.Delay(250, load.Token); } catch (OperationCanceledException) { }
    }
});

var errors = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
var clock = Stopwatch.StartNew();
var loops = Enumerable.Range(0, options.Concurrency).Select(i => Task.Run(async () =>
{
    var random = new Random(options.Seed + i);
    while (!load.IsCancellationRequested)
    {
        // Each step has its own deadline, so a wedged server shows up as errors, not a hang.
        using var step = CancellationTokenSource.CreateLinkedTokenSource(load.Token);
        step.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            if (random.Next(100) < 40) await workers.DeliverAsync(random, step.Token);
            else await workers.Pop3SessionAsync(random, step.Token);
        }
        catch (OperationCanceledException) when (load.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or EndOfStreamException or UnexpectedReplyException or OperationCanceledException)
        {
            Interlocked.Increment(ref counters.ConnectionErrors);
            errors.AddOrUpdate(ex.GetType().Name + ": " + ex.Message.Split('\n')[0], 1, (_, n) => n + 1);
        }
    }
})).ToArray();
await Task.WhenAll(loops);
await sampler;
var loadSeconds = clock.Elapsed.TotalSeconds;

// Let sessions that were cut off be noticed and their locks released, then check every mailbox.
await Task.Delay(2000);
var lost = 0; var resurrected = 0; var phantom = 0; var duplicates = 0; var present = 0;
foreach (var user in users)
{
    var ids = await ReadMailboxAsync(pop3, user, password);
    present += ids.Count;
    var verdict = ledgers[user].Check(ids);
    lost += verdict.Lost.Count; resurrected += verdict.Resurrected.Count; phantom += verdict.Phantom.Count; duplicates += verdict.Duplicates;
    if (!verdict.Clean)
        Console.Error.WriteLine($"{user}: lost [{string.Join(' ', verdict.Lost)}] resurrected [{string.Join(' ', verdict.Resurrected)}] phantom [{string.Join(' ', verdict.Phantom)}] duplicates {verdict.Duplicates}");
}
var peakHwm = ReadStatusKb(server.Id, "VmHWM");
using (var term = Process.Start("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)])) term.WaitForExit();
var exited = server.WaitForExit(30_000);

var faults = counters.BadPasswords + counters.AbruptDisconnects + counters.MidRetrDisconnects + counters.AbortedDeliveries;
var result = new
{
    mode = "soak",
    seconds = Math.Round(loadSeconds, 1),
    options.Concurrency,
    options.Users,
    sessions = counters.Sessions,
    logins = counters.Logins,
    in_use = counters.InUse,
    retrieved = counters.Retrieved,
    size_mismatches = counters.SizeMismatches,
    quits_confirmed = counters.QuitsConfirmed,
    quits_in_doubt = counters.QuitsInDoubt,
    deliveries = counters.Deliveries,
    deliveries_in_doubt = counters.DeliveriesInDoubt,
    faults_injected = faults,
    bad_passwords = counters.BadPasswords,
    abrupt_disconnects = counters.AbruptDisconnects,
    mid_retr_disconnects = counters.MidRetrDisconnects,
    aborted_deliveries = counters.AbortedDeliveries,
    client_errors = counters.ConnectionErrors,
    messages_present = present,
    messages_lost = lost,
    resurrected,
    phantom,
    duplicates,
    server_peak_rss_mb = Math.Round(Math.Max(peakRss, peakHwm) / 1024.0, 1),
    server_clean_exit = exited && server.ExitCode == 0,
};
Console.WriteLine(JsonSerializer.Serialize(result));
Console.WriteLine($"soak: {counters.Sessions} POP3 sessions, {counters.Deliveries} deliveries, {faults} faults injected in {loadSeconds:F0}s; " +
                  $"lost {lost}, resurrected {resurrected}, phantom {phantom}, duplicates {duplicates}; server peak RSS {result.server_peak_rss_mb} MB");
foreach (var (error, n) in errors.OrderByDescending(e => e.Value).Take(8)) Console.WriteLine($"  client error x{n}: {error}");
if (counters.SizeMismatches > 0) Console.WriteLine($"  {counters.SizeMismatches} RETR size mismatches");
try { Directory.Delete(data, recursive: true); } catch (IOException) { }
return lost + resurrected + phantom + duplicates + counters.SizeMismatches == 0 && result.server_clean_exit ? 0 : 1;

static async Task<List<string>> ReadMailboxAsync(IPEndPoint pop3, string user, string password)
{
    for (var attempt = 0; ; attempt++)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var c = await LineClient.ConnectAsync(pop3, deadline.Token);
        await c.ReadLineAsync(deadline.Token);
        await c.SendAsync($"USER {user}", deadline.Token);
        await c.ReadLineAsync(deadline.Token);
        await c.SendAsync($"PASS {password}", deadline.Token);
        var login = await c.ReadLineAsync(deadline.Token);
        if (login.StartsWith("-ERR [IN-USE]", StringComparison.Ordinal) && attempt < 50)
        {
            await Task.Delay(200);
            continue;
        }
        if (!login.StartsWith("+OK", StringComparison.Ordinal)) throw new InvalidOperationException($"{user}: {login}");
        await c.SendAsync("STAT", deadline.Token);
        var count = int.Parse((await c.ReadLineAsync(deadline.Token)).Split(' ')[1], CultureInfo.InvariantCulture);
        var ids = new List<string>(count);
        for (var n = 1; n <= count; n++)
        {
            await c.SendAsync($"TOP {n} 0", deadline.Token);
            await c.ReadLineAsync(deadline.Token);
            ids.Add(Workers.SoakId(await c.ReadMultiLineAsync(deadline.Token)));
        }
        await c.SendAsync("QUIT", deadline.Token);
        await c.ReadLineAsync(deadline.Token);
        return ids;
    }
}

static int FreePort()
{
    using var probe = new TcpListener(IPAddress.Loopback, 0);
    probe.Start();
    return ((IPEndPoint)probe.LocalEndpoint).Port;
}

static async Task WaitForPortAsync(IPEndPoint endPoint)
{
    for (var i = 0; i < 300; i++)
    {
        try
        {
            using var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(endPoint);
            return;
        }
        catch (SocketException)
        {
            await Task.Delay(100);
        }
    }
    throw new TimeoutException($"server did not listen on {endPoint}");
}

static long ReadStatusKb(int pid, string field)
{
    try
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
    catch (IOException) { }
    return 0;
}

internal sealed record Args(string Server, int Duration, int Concurrency, int Users, int Seed)
{
    public static Args Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var server = Value("--server", "");
        if (server.Length == 0) throw new ArgumentException("--server PATH/Restante.Cli.dll is required");
        return new Args(server, int.Parse(Value("--duration", "180"), CultureInfo.InvariantCulture),
            int.Parse(Value("--concurrency", "200"), CultureInfo.InvariantCulture),
            int.Parse(Value("--users", "40"), CultureInfo.InvariantCulture),
            int.Parse(Value("--seed", "1"), CultureInfo.InvariantCulture));
    }
}
