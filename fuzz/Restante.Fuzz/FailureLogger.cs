using Microsoft.Extensions.Logging;

namespace Restante.Fuzz;

/// <summary>
/// Turns a session's "failed" log event (an exception it could only log), and any log line the client
/// could have broken with a control character (a forged line for fail2ban to read), into something the
/// fuzzer sees. Every level is on, so the Debug command log is checked too.
/// </summary>
internal sealed class FailureLogger(string failedEventName) : ILoggerFactory, ILogger
{
    private Exception? _failure;

    public void ThrowIfFailed()
    {
        if (_failure is not null) throw new InvalidOperationException("session failed", _failure);
    }

    public ILogger CreateLogger(string categoryName) => this;
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (exception is not null && (eventId.Name == failedEventName || logLevel >= LogLevel.Error)) _failure ??= exception;
        var message = formatter(state, null);
        if (message.Any(char.IsControl)) _failure ??= new InvalidOperationException($"log line {eventId.Name} carries a control character: {Restante.Protocol.LogText.Of(message, 300)}");
    }

    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }
}
