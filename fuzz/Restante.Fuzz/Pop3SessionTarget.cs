using System.Text;
using Microsoft.Extensions.Logging;
using Restante.Auth;
using Restante.Pop3;
using Restante.Storage.InMemory;

namespace Restante.Fuzz;

/// <summary>
/// Feeds arbitrary client bytes to a whole POP3 session — line reader, parser, state table and
/// every command — over an in-memory mailbox. A crash is any exception the session could not
/// turn into an -ERR, or a broken mailbox invariant afterwards.
/// </summary>
internal static class Pop3SessionTarget
{
    private static readonly byte[][] s_messages =
    [
        "Subject: one\n\nhello\n.dot\n"u8.ToArray(),
        "Subject: two\r\n\r\nbody\r\n"u8.ToArray(),
        [0, 255, 10, 46, 13, 10, 46],
    ];

    public static void Run(Stream input)
    {
        var store = new InMemoryMailStore();
        foreach (var message in s_messages) store.Add("alice", message);
        var options = new Pop3Options { AuthFailureDelay = TimeSpan.Zero, Hostname = "fuzz" };
        var failures = new FailureLogger();
        var context = new Pop3ServerContext(options, store, new Authenticator(new OneUser()), failures);
        using var transport = new FuzzTransport(input);
        var session = new Pop3Session(context, transport, null);
        session.RunAsync(CancellationToken.None).GetAwaiter().GetResult();

        if (failures.Failure is { } failure) throw new InvalidOperationException("session failed", failure);
        var left = store.MessagesOf("alice").Count;
        if (left > s_messages.Length) throw new InvalidOperationException("messages appeared from nowhere");
        // Every reply line the server wrote must end in CRLF and the output must end at a line end.
        if (transport.Written.Length > 0 && !transport.Written.ToArray().AsSpan().EndsWith("\r\n"u8))
            throw new InvalidOperationException("output does not end with CRLF: " + Encoding.Latin1.GetString(transport.Written.ToArray()[^Math.Min(40, (int)transport.Written.Length)..]));
    }

    private sealed class OneUser : IUserDirectory
    {
        private static readonly UserRecord s_alice = new("alice", "{PLAIN}secret", new Dictionary<string, string>());

        public ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken)
            => ValueTask.FromResult(name == "alice" ? s_alice : null);
    }

    /// <summary>Reads the fuzz input, then end of stream; keeps what the server writes.</summary>
    private sealed class FuzzTransport(Stream input) : Stream
    {
        public MemoryStream Written { get; } = new();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, Math.Min(count, 97));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);
    }

    /// <summary>Turns the session's "failed" log event into something the fuzzer sees.</summary>
    private sealed class FailureLogger : ILoggerFactory, ILogger
    {
        public Exception? Failure { get; private set; }

        public ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not null && eventId.Name == "SessionFailed") Failure ??= exception;
        }
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
    }
}
