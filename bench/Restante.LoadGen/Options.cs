using System.Globalization;
using System.Net;
using System.Text;

namespace Restante.LoadGen;

/// <summary>Command-line options. Every run is bounded: --duration, --rounds and --timeout all end it.</summary>
internal sealed class Options
{
    public string Mode { get; private set; } = "";
    public string Host { get; private set; } = "127.0.0.1";
    public int Port { get; private set; } = 1110;
    public bool Tls { get; private set; }
    public bool TlsResume { get; private set; }
    public int Concurrency { get; private set; } = 1;
    public double DurationSeconds { get; private set; } = 10;
    public double WarmupSeconds { get; private set; } = 1;
    /// <summary>Warm up by session count (all workers together) instead of seconds: every server gets the same warm-up.</summary>
    public int WarmupSessions { get; private set; }
    public double TimeoutSeconds { get; private set; } = 30;
    public int Rounds { get; private set; }
    public string Label { get; private set; } = "";
    public string Server { get; private set; } = "";
    public string Case { get; private set; } = "";
    public int Round { get; private set; }
    public double NoopIntervalSeconds { get; private set; } = 5;
    public int RampConcurrency { get; private set; } = 32;
    /// <summary>idle: spread connections over 127.0.0.1 … 127.0.0.N as source addresses (~28k ports each).</summary>
    public int SourceAddresses { get; private set; } = 1;
    /// <summary>idle: written once every session is logged in and memory is sampled, so a script can start other load.</summary>
    public string? ReadyFile { get; private set; }
    /// <summary>big: a Maildir to drop one message into (tmp/, then rename into new/) before each measured login.</summary>
    public string? DeliverTo { get; private set; }
    public int DeliverSize { get; private set; } = 2048;
    /// <summary>big: logins before the measured ones, not in the medians (the first is reported as first_*).</summary>
    public int PrimeLogins { get; private set; }
    /// <summary>big: leave LIST out (login+STAT+UIDL).</summary>
    public bool SkipList { get; private set; }
    /// <summary>Extra numeric fields for the JSON line (--metric startup_ms=123), measured by the calling script.</summary>
    public List<(string Key, double Value)> Metrics { get; } = [];
    public List<int> ServerPids { get; } = [];
    public List<(string Name, byte[] User, byte[] Pass)> Users { get; } = [];
    public List<string> Files { get; } = [];
    public string? Output { get; private set; }

    public EndPoint EndPoint => new IPEndPoint(IPAddress.Parse(Host), Port);

    /// <summary>The source address of connection <paramref name="n"/>, or null for the kernel's choice.</summary>
    public IPEndPoint? SourceFor(int n) =>
        SourceAddresses <= 1 ? null : new IPEndPoint(new IPAddress([127, 0, 0, (byte)(1 + n % SourceAddresses)]), 0);

    public static Options Parse(string[] args)
    {
        var o = new Options();
        string? usersFile = null, single = null, prefix = null, password = null;
        int count = 0, digits = 4, first = 0;
        var i = 0;
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        static double Seconds(string s) => double.Parse(s.TrimEnd('s'), CultureInfo.InvariantCulture);
        for (; i < args.Length; i++)
        {
            var a = args[i];
            switch (a)
            {
                case "--host": o.Host = Next(); break;
                case "--port": o.Port = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--tls": o.Tls = true; break;
                case "--tls-resume": o.Tls = true; o.TlsResume = true; break;
                case "--concurrency" or "-c": o.Concurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--duration" or "-d": o.DurationSeconds = Seconds(Next()); break;
                case "--warmup": o.WarmupSeconds = Seconds(Next()); break;
                case "--warmup-sessions": o.WarmupSessions = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--source-addresses": o.SourceAddresses = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--ready-file": o.ReadyFile = Next(); break;
                case "--deliver": o.DeliverTo = Next(); break;
                case "--deliver-size": o.DeliverSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--prime-logins": o.PrimeLogins = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--skip-list": o.SkipList = true; break;
                case "--metric":
                    var kv = Next().Split('=', 2);
                    if (kv.Length != 2 || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var mv))
                        throw new ArgumentException("--metric needs KEY=NUMBER");
                    o.Metrics.Add((kv[0], mv));
                    break;
                case "--timeout": o.TimeoutSeconds = Seconds(Next()); break;
                case "--rounds": o.Rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--label": o.Label = Next(); break;
                case "--server": o.Server = Next(); break;
                case "--case": o.Case = Next(); break;
                case "--round": o.Round = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--noop-interval": o.NoopIntervalSeconds = Seconds(Next()); break;
                case "--ramp": o.RampConcurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--server-pid" or "--server-pids":
                    foreach (var p in Next().Split(',', StringSplitOptions.RemoveEmptyEntries))
                        o.ServerPids.Add(int.Parse(p, CultureInfo.InvariantCulture));
                    break;
                case "--users": usersFile = Next(); break;
                case "--user": single = Next(); break;
                case "--user-prefix": prefix = Next(); break;
                case "--user-count": count = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--user-first": first = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--user-digits": digits = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--password": password = Next(); break;
                case "--out": o.Output = Next(); break;
                default:
                    if (a.StartsWith('-')) throw new ArgumentException($"unknown option {a}");
                    if (o.Mode.Length == 0) o.Mode = a; else o.Files.Add(a);
                    break;
            }
        }
        if (o.Mode.Length == 0) throw new ArgumentException("no mode given");
        if (o.Mode is "report" or "memory") return o;

        if (!IPAddress.Parse(o.Host).Equals(IPAddress.Loopback) && !IPAddress.Parse(o.Host).Equals(IPAddress.IPv6Loopback)
            && !o.Host.StartsWith("127.", StringComparison.Ordinal))
            throw new ArgumentException("the load generator only targets loopback addresses (127.0.0.0/8, ::1)");
        if (o.Concurrency < 1) throw new ArgumentException("--concurrency must be at least 1");
        if (o.DurationSeconds is <= 0 or > 3600) throw new ArgumentException("--duration must be in (0, 3600] seconds");
        if (o.SourceAddresses is < 1 or > 250) throw new ArgumentException("--source-addresses must be in 1…250");
        if (o.WarmupSessions < 0 || o.PrimeLogins < 0) throw new ArgumentException("--warmup-sessions and --prime-logins cannot be negative");

        if (usersFile is not null)
        {
            foreach (var raw in File.ReadLines(usersFile))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line[0] == '#') continue;
                // "name:password", "name password" or a passwd line "name:{PLAIN}password[:...]".
                var sep = line.IndexOfAny([':', ' ', '\t']);
                if (sep < 0) throw new ArgumentException($"{usersFile}: no password on line '{line}'");
                var name = line[..sep];
                var pw = line[(sep + 1)..];
                if (pw.StartsWith("{PLAIN}", StringComparison.Ordinal)) pw = pw["{PLAIN}".Length..];
                var colon = pw.IndexOf(':');
                if (colon >= 0 && line[sep] == ':' && raw.Contains("{PLAIN}", StringComparison.Ordinal)) pw = pw[..colon];
                o.AddUser(name, pw);
            }
        }
        else if (single is not null)
        {
            o.AddUser(single, password ?? throw new ArgumentException("--user needs --password"));
        }
        else if (prefix is not null)
        {
            if (count < 1) throw new ArgumentException("--user-prefix needs --user-count");
            for (var n = first; n < first + count; n++)
                o.AddUser(prefix + n.ToString("D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
                    password ?? throw new ArgumentException("--user-prefix needs --password"));
        }
        if (o.Mode is "login" or "retr" or "big" or "idle" && o.Users.Count == 0)
            throw new ArgumentException("give users: --users FILE, --user NAME --password PW, or --user-prefix P --user-count N --password PW");
        return o;
    }

    private void AddUser(string name, string password) =>
        Users.Add((name, Encoding.UTF8.GetBytes($"USER {name}\r\n"), Encoding.UTF8.GetBytes($"PASS {password}\r\n")));
}
