using System.Globalization;
using System.Text;
using Restante.Corpus;

// Restante.Corpus: writes a deterministic benchmark corpus of Maildirs as Postfix's local(8)
// delivers them, plus a passwd file both Restante and Dovecot read. See bench/README.md.
var o = new CorpusOptions();
try
{
    o.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"corpus: {ex.Message}");
    Console.Error.WriteLine("usage: Restante.Corpus --out DIR [--seed 6] [--users 200] [--messages 20] [--size 51200] [--big-count 100000] [--big-size 2048] [--large-count 100] [--large-size 1048576] [--huge-mb 50] [--idle-users 1000] [--password bench] [--mailbox NAME=COUNTxSIZE]...\n       Restante.Corpus --lmtp HOST:PORT [--seed 6] [--wire-users 16] [--messages 20] [--size 51200] [--wire-large-count 100] [--large-size 1048576]");
    return 2;
}
if (o.Lmtp is not null)
{
    var began = DateTime.UtcNow;
    var (delivered, octets) = await LmtpFeeder.DeliverAsync(o);
    Console.WriteLine($"corpus: {delivered} messages, {octets / 1e6:F1} MB delivered over LMTP to {o.Lmtp} ({(DateTime.UtcNow - began).TotalSeconds:F1} s)");
    return 0;
}
if (Directory.Exists(Path.Combine(o.Out, "mail")))
{
    Console.Error.WriteLine($"corpus: {o.Out}/mail exists; remove it first (the corpus is written once, then copied per server)");
    return 2;
}

var started = DateTime.UtcNow;
var mail = Path.Combine(o.Out, "mail");
Directory.CreateDirectory(mail);
var passwd = new StringBuilder();
var users = new StringBuilder();
var jobs = new List<(string User, int Count, int Size, int Salt)>();
for (var u = 0; u < o.Users; u++)
{
    var name = "user" + u.ToString("D4", CultureInfo.InvariantCulture);
    jobs.Add((name, o.Messages, o.Size, u));
}
if (o.BigCount > 0) jobs.Add(("big100k", o.BigCount, o.BigSize, 100_001));
if (o.LargeCount > 0) jobs.Add(("large1mb", o.LargeCount, o.LargeSize, 100_002));
foreach (var (name, count, size) in o.Mailboxes) jobs.Add((name, count, size, 300_000 + jobs.Count));
if (o.HugeMb > 0) jobs.Add(("huge50m", 1, o.HugeMb * 1024 * 1024, 100_003));
for (var u = 0; u < o.IdleUsers; u++) jobs.Add(("idle" + u.ToString("D5", CultureInfo.InvariantCulture), 0, 0, 200_000 + u));

foreach (var job in jobs)
{
    passwd.Append(CultureInfo.InvariantCulture, $"{job.User}:{{PLAIN}}{o.Password}\n");
    if (job.User.StartsWith("user", StringComparison.Ordinal)) users.Append(CultureInfo.InvariantCulture, $"{job.User}:{o.Password}\n");
}
File.WriteAllText(Path.Combine(o.Out, "passwd"), passwd.ToString());
File.WriteAllText(Path.Combine(o.Out, "users.txt"), users.ToString());

long files = 0, bytes = 0;
Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = 2 }, job =>
{
    var (f, b) = MaildirWriter.Write(Path.Combine(mail, job.User), job.Count, job.Size, o.Seed * 1_000_003 + job.Salt);
    Interlocked.Add(ref files, f);
    Interlocked.Add(ref bytes, b);
});
File.WriteAllText(Path.Combine(o.Out, "corpus.txt"),
    $"restante-corpus 1 seed={o.Seed} users={o.Users}x{o.Messages}x{o.Size} big100k={o.BigCount}x{o.BigSize} large1mb={o.LargeCount}x{o.LargeSize} huge50m={o.HugeMb}MB idle={o.IdleUsers} {string.Join(' ', o.Mailboxes.Select(m => $"{m.Name}={m.Count}x{m.Size}"))}\n");
Console.WriteLine($"corpus: {files} messages, {bytes / 1e6:F1} MB, {jobs.Count} users in {o.Out} ({(DateTime.UtcNow - started).TotalSeconds:F1} s)");
return 0;

namespace Restante.Corpus
{
    internal sealed class CorpusOptions
    {
        public string Out { get; private set; } = "";
        public int Seed { get; private set; } = 6;
        public int Users { get; private set; } = 200;
        public int Messages { get; private set; } = 20;
        public int Size { get; private set; } = 50 * 1024;
        public int BigCount { get; private set; } = 100_000;
        public int BigSize { get; private set; } = 2 * 1024;
        public int LargeCount { get; private set; } = 100;
        public int LargeSize { get; private set; } = 1024 * 1024;
        public int HugeMb { get; private set; } = 50;
        public int IdleUsers { get; private set; } = 1000;
        public string Password { get; private set; } = "bench";
        /// <summary>Deliver the wire-form mailboxes (see LmtpFeeder) to this LMTP server instead of writing Maildirs.</summary>
        public System.Net.IPEndPoint? Lmtp { get; private set; }
        public int WireUsers { get; private set; } = 16;
        public int WireLargeCount { get; private set; } = 100;
        /// <summary>Further mailboxes, --mailbox NAME=COUNTxSIZE (e.g. big1m=1000000x1536).</summary>
        public List<(string Name, int Count, int Size)> Mailboxes { get; } = [];

        public void Parse(string[] args)
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
                switch (args[i])
                {
                    case "--out": Out = Next(); break;
                    case "--seed": Seed = Int(); break;
                    case "--users": Users = Int(); break;
                    case "--messages": Messages = Int(); break;
                    case "--size": Size = Int(); break;
                    case "--big-count": BigCount = Int(); break;
                    case "--big-size": BigSize = Int(); break;
                    case "--large-count": LargeCount = Int(); break;
                    case "--large-size": LargeSize = Int(); break;
                    case "--huge-mb": HugeMb = Int(); break;
                    case "--idle-users": IdleUsers = Int(); break;
                    case "--password": Password = Next(); break;
                    case "--lmtp": Lmtp = System.Net.IPEndPoint.Parse(Next()); break;
                    case "--wire-users": WireUsers = Int(); break;
                    case "--wire-large-count": WireLargeCount = Int(); break;
                    case "--mailbox":
                        var spec = Next();
                        var eq = spec.IndexOf('=');
                        var x = spec.IndexOf('x', eq + 1);
                        if (eq < 1 || x < 0) throw new ArgumentException($"--mailbox {spec}: expected NAME=COUNTxSIZE");
                        Mailboxes.Add((spec[..eq], int.Parse(spec[(eq + 1)..x], CultureInfo.InvariantCulture), int.Parse(spec[(x + 1)..], CultureInfo.InvariantCulture)));
                        break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            if (Out.Length == 0 && Lmtp is null) throw new ArgumentException("--out DIR is required");
            if (Password.Contains(':', StringComparison.Ordinal)) throw new ArgumentException("the password cannot contain ':'");
        }
    }
}
