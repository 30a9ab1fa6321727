using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Restante.Ceiling;

// Restante.Ceiling: the benchmark's ceiling. A POP3 responder with the same reply shapes as a real
// server but nothing behind them: no files, no passwords (any PASS succeeds), no locks. Every
// listing and message is rendered once at start, so a session costs only sockets and parsing.
var plain = new List<IPEndPoint>();
var secure = new List<IPEndPoint>();
var specs = new List<MailboxSpec>();
string? certPath = null, keyPath = null;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--pop3": plain.Add(IPEndPoint.Parse(Next())); break;
        case "--pop3s": secure.Add(IPEndPoint.Parse(Next())); break;
        case "--mailbox": specs.Add(MailboxSpec.Parse(Next())); break;
        case "--cert": certPath = Next(); break;
        case "--key": keyPath = Next(); break;
        default:
            Console.Error.WriteLine($"ceiling: unknown option {args[i]}\nusage: Restante.Ceiling --pop3 127.0.0.1:PORT [--pop3s 127.0.0.1:PORT [--cert PEM --key PEM]] [--mailbox 'user*=20x51200' ...]");
            return 2;
    }
}
if (plain.Count == 0 && secure.Count == 0) plain.Add(new IPEndPoint(IPAddress.Loopback, 1110));
foreach (var ep in plain.Concat(secure))
    if (!IPAddress.IsLoopback(ep.Address)) { Console.Error.WriteLine("ceiling: loopback addresses only"); return 2; }
specs.Add(MailboxSpec.Parse("*=20x51200"));   // the default, matched last

X509Certificate2? certificate = null;
if (secure.Count > 0)
{
    certificate = certPath is not null
        ? X509Certificate2.CreateFromPemFile(certPath, keyPath)
        : SelfSigned();
}

var mailboxes = new Dictionary<MailboxSpec, Mailbox>();
foreach (var spec in specs) mailboxes[spec] = new Mailbox(spec);
var server = new Responder(specs, mailboxes, certificate);

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
var loops = new List<Task>();
foreach (var ep in plain) loops.Add(server.ListenAsync(ep, tls: false, stop.Token));
foreach (var ep in secure) loops.Add(server.ListenAsync(ep, tls: true, stop.Token));
Console.WriteLine($"ceiling: listening on {string.Join(", ", plain.Select(e => e.ToString()).Concat(secure.Select(e => e + " (TLS)")))}");
await Task.WhenAll(loops);
return 0;

static X509Certificate2 SelfSigned()
{
    using var rsa = RSA.Create(2048);
    var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
}

namespace Restante.Ceiling
{
    /// <summary>"pattern=COUNTxSIZE": users matching pattern (a trailing * is a prefix match) get COUNT messages of about SIZE octets.</summary>
    internal sealed record MailboxSpec(string Pattern, int Count, int Size)
    {
        public static MailboxSpec Parse(string text)
        {
            var eq = text.IndexOf('=');
            var x = text.IndexOf('x', eq + 1);
            if (eq < 1 || x < 0) throw new ArgumentException($"mailbox spec '{text}' is not pattern=COUNTxSIZE");
            return new MailboxSpec(text[..eq], int.Parse(text[(eq + 1)..x], CultureInfo.InvariantCulture), int.Parse(text[(x + 1)..], CultureInfo.InvariantCulture));
        }

        public bool Matches(string user) => Pattern.EndsWith('*') ? user.StartsWith(Pattern[..^1], StringComparison.Ordinal) : user == Pattern;
    }

    /// <summary>A mailbox rendered once: STAT, LIST and UIDL replies, and each message on the wire (CRLF, stuffed, terminated).</summary>
    internal sealed class Mailbox
    {
        public Mailbox(MailboxSpec spec)
        {
            var random = new Random(spec.Count * 31 + spec.Size);
            var distinct = Math.Min(spec.Count, 8);
            var bodies = new (byte[] Wire, long Size)[distinct];
            for (var i = 0; i < distinct; i++)
            {
                var target = spec.Size <= 4096 ? spec.Size / 2 + random.Next(0, Math.Max(1, spec.Size)) : spec.Size * 8 / 10 + random.Next(0, spec.Size * 4 / 10);
                bodies[i] = Render(random, target);
            }
            Messages = new byte[spec.Count][];
            var list = new StringBuilder();
            var uidl = new StringBuilder();
            long total = 0;
            for (var i = 0; i < spec.Count; i++)
            {
                var (wire, size) = bodies[i % distinct];
                Messages[i] = wire;
                total += size;
                list.Append(CultureInfo.InvariantCulture, $"{i + 1} {size}\r\n");
                uidl.Append(CultureInfo.InvariantCulture, $"{i + 1} ceiling{i + 1:D8}\r\n");
                Sizes.Add(size);
            }
            Stat = Encoding.ASCII.GetBytes($"+OK {spec.Count} {total}\r\n");
            List = Encoding.ASCII.GetBytes($"+OK {spec.Count} messages ({total} octets)\r\n{list}.\r\n");
            Uidl = Encoding.ASCII.GetBytes($"+OK\r\n{uidl}.\r\n");
        }

        public byte[] Stat { get; }
        public byte[] List { get; }
        public byte[] Uidl { get; }
        public byte[][] Messages { get; }
        public List<long> Sizes { get; } = [];

        private static (byte[] Wire, long Size) Render(Random random, int target)
        {
            var text = new StringBuilder("From: ceiling@example.com\nTo: you@example.com\nSubject: ceiling\n\n");
            while (text.Length < target)
            {
                var roll = random.Next(40);
                if (roll == 0) { text.Append(".\n"); continue; }
                if (roll == 1) text.Append('.');
                var n = random.Next(40, 77);
                for (var j = 0; j < n; j++) text.Append((char)('a' + random.Next(26)));
                text.Append('\n');
            }
            var wire = new MemoryStream(target * 11 / 10);
            long size = 0;
            foreach (var line in text.ToString().Split('\n')[..^1])
            {
                if (line.StartsWith('.')) wire.WriteByte((byte)'.');
                var bytes = Encoding.ASCII.GetBytes(line + "\r\n");
                wire.Write(bytes);
                size += bytes.Length;
            }
            wire.Write(".\r\n"u8);
            return (wire.ToArray(), size);
        }
    }

    internal sealed class Responder(List<MailboxSpec> specs, Dictionary<MailboxSpec, Mailbox> mailboxes, X509Certificate2? certificate)
    {
        // One certificate context for every handshake, as Restante keeps one: given only ServerCertificate,
        // SslStream makes a context (and builds the chain) per handshake, which a ceiling must not pay.
        private readonly SslServerAuthenticationOptions? _tlsOptions = certificate is null ? null
            : new() { ServerCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true) };

        public async Task ListenAsync(IPEndPoint endPoint, bool tls, CancellationToken stop)
        {
            using var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endPoint);
            listener.Listen(1024);
            try
            {
                while (true)
                {
                    var socket = await listener.AcceptAsync(stop);
                    socket.NoDelay = true;
                    _ = Task.Run(() => ServeAsync(socket, tls, stop), stop);
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        private async Task ServeAsync(Socket socket, bool tls, CancellationToken stop)
        {
            var input = ArrayPool<byte>.Shared.Rent(4096);
            var output = ArrayPool<byte>.Shared.Rent(16 * 1024);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            try
            {
                if (tls)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    await ssl.AuthenticateAsServerAsync(_tlsOptions!, stop);
                    stream = ssl;
                }
                await stream.WriteAsync("+OK ceiling POP3 responder ready.\r\n"u8.ToArray(), stop);
                Mailbox? box = null;
                int start = 0, end = 0;
                while (true)
                {
                    var read = await stream.ReadAsync(input.AsMemory(end), stop);
                    if (read == 0) return;
                    end += read;
                    var o = 0;
                    while (true)
                    {
                        var lf = input.AsSpan(start, end - start).IndexOf((byte)'\n');
                        if (lf < 0) break;
                        var line = input.AsSpan(start, lf).TrimEnd((byte)'\r');
                        start += lf + 1;
                        var verb = line.Length >= 4 ? (line[0] | 0x20) << 24 | (line[1] | 0x20) << 16 | (line[2] | 0x20) << 8 | (line[3] | 0x20) : 0;
                        var arg = line.Length > 5 ? line[5..] : [];
                        switch (verb)
                        {
                            case 0x75736572: // user
                                var name = Encoding.ASCII.GetString(arg);
                                box = mailboxes[specs.First(s => s.Matches(name))];
                                o = Put(output, o, "+OK\r\n"u8);
                                break;
                            case 0x70617373: o = Put(output, o, "+OK Logged in.\r\n"u8); break;   // pass
                            case 0x73746174: o = Put(output, o, box!.Stat); break;                // stat
                            case 0x6e6f6f70: o = Put(output, o, "+OK\r\n"u8); break;              // noop
                            case 0x6c697374:                                                       // list
                            case 0x7569646c:                                                       // uidl
                                await stream.WriteAsync(output.AsMemory(0, o), stop);
                                o = 0;
                                await stream.WriteAsync(verb == 0x6c697374 ? box!.List : box!.Uidl, stop);
                                break;
                            case 0x72657472:                                                       // retr
                                Utf8Parser.TryParse(arg, out int n, out _);
                                if (box is null || n < 1 || n > box.Messages.Length) { o = Put(output, o, "-ERR There's no message.\r\n"u8); break; }
                                o = Put(output, o, "+OK "u8);
                                Utf8Formatter.TryFormat(box.Sizes[n - 1], output.AsSpan(o), out var w);
                                o += w;
                                o = Put(output, o, " octets\r\n"u8);
                                await stream.WriteAsync(output.AsMemory(0, o), stop);
                                o = 0;
                                await stream.WriteAsync(box.Messages[n - 1], stop);
                                break;
                            case 0x71756974:                                                       // quit
                                o = Put(output, o, "+OK Logging out.\r\n"u8);
                                await stream.WriteAsync(output.AsMemory(0, o), stop);
                                return;
                            default: o = Put(output, o, "-ERR Unknown command.\r\n"u8); break;
                        }
                    }
                    if (o > 0) await stream.WriteAsync(output.AsMemory(0, o), stop);
                    if (start == end) { start = 0; end = 0; }
                    else if (end == input.Length) { input.AsSpan(start, end - start).CopyTo(input); end -= start; start = 0; }
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
            {
                // The client went away.
            }
            finally
            {
                await stream.DisposeAsync();
                ArrayPool<byte>.Shared.Return(input);
                ArrayPool<byte>.Shared.Return(output);
            }
        }

        private static int Put(byte[] output, int at, ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(output.AsSpan(at));
            return at + bytes.Length;
        }
    }
}
