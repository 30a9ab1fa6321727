using System.Text;
using Microsoft.Extensions.Logging.Console;

namespace Restante.Cli;

/// <summary>
/// The thread that writes formatted log lines to standard output and error, a batch at a time. The runtime's console
/// logger wakes its writer thread for every line and makes one write(2) per line: at one summary line per POP3 session
/// that is a thread switch per login, a few percent of the server's CPU under load. Here a line that finds the writer
/// idle wakes it, the writer then lets the lines of the next <see cref="Window"/> gather, and writes them all with one
/// write(2) per stream: at most one wake-up and one system call per window however many sessions end in it. Every
/// line is still written, whole, in the order it was logged; an Error or Critical line cuts the window short (so the
/// last words before a crash are not left waiting), and shutting down writes whatever is queued.
/// </summary>
internal sealed class BatchedConsoleWriter : IDisposable
{
    /// <summary>How long the writer lets lines gather once woken: unnoticeable in a log, long enough to share the write.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(10);

    private readonly object _gate = new();
    private readonly object _writeGate = new();
    private readonly Stream _output;
    private readonly Stream _error;
    private readonly int _maxQueued;
    private readonly ConsoleLoggerQueueFullMode _fullMode;
    private readonly Thread _thread;
    private readonly int _windowMilliseconds;
    private List<Line> _pending = [];
    private List<Line> _writing = [];
    private byte[] _bytes = new byte[16 * 1024];
    private bool _urgent;
    private bool _stopping;
    private bool _stopped;
    private long _dropped;

    private readonly record struct Line(string Text, bool ToError);

    /// <param name="maxQueued">Lines that may wait; past that a logging thread waits (or the line is dropped, with
    /// <see cref="ConsoleLoggerQueueFullMode.DropWrite"/>), as <see cref="ConsoleLoggerOptions.MaxQueueLength"/> says.</param>
    public BatchedConsoleWriter(Stream output, Stream error, int maxQueued, ConsoleLoggerQueueFullMode fullMode, TimeSpan? window = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueued, 1);
        _output = output;
        _error = error;
        _maxQueued = maxQueued;
        _fullMode = fullMode;
        _windowMilliseconds = (int)(window ?? Window).TotalMilliseconds;
        // Background: a host that forgets to dispose the logger must still be able to exit.
        _thread = new Thread(Run) { IsBackground = true, Name = "restante-console-log" };
        _thread.Start();
    }

    /// <summary>Queues one formatted line (its text ends with the formatter's line end).</summary>
    /// <param name="urgent">Written at once rather than at the end of the window.</param>
    public void Enqueue(string text, bool toError, bool urgent)
    {
        lock (_gate)
        {
            while (_pending.Count >= _maxQueued && !_stopping)
            {
                if (_fullMode == ConsoleLoggerQueueFullMode.DropWrite)
                {
                    _dropped++;
                    return;
                }
                Monitor.Wait(_gate);
            }
            if (_stopped)
            {
                // After shutdown (a line from a finalizer, a late callback): nobody is left to batch it.
                WriteNow([new Line(text, toError)]);
                return;
            }
            _pending.Add(new Line(text, toError));
            // Wake the writer only when it sleeps with nothing to do, or to cut its window short.
            if (_pending.Count == 1 || urgent)
            {
                _urgent |= urgent;
                Monitor.PulseAll(_gate);
            }
        }
    }

    private void Run()
    {
        while (true)
        {
            List<Line> batch;
            long dropped;
            lock (_gate)
            {
                while (_pending.Count == 0 && !_stopping) Monitor.Wait(_gate);
                if (_pending.Count == 0)
                {
                    // Under the lock: a line queued after this would otherwise wait for a writer that has gone.
                    _stopped = true;
                    return;
                }
                // Let the lines of the window gather; an urgent line, a full queue or a shutdown ends it early.
                var deadline = Environment.TickCount64 + _windowMilliseconds;
                while (!_urgent && !_stopping && _pending.Count < _maxQueued)
                {
                    var left = deadline - Environment.TickCount64;
                    if (left <= 0) break;
                    Monitor.Wait(_gate, (int)left);
                }
                batch = _pending;
                _pending = _writing;
                _writing = batch;
                _urgent = false;
                dropped = _dropped;
                _dropped = 0;
                // Logging threads held back by a full queue may go on.
                if (batch.Count >= _maxQueued) Monitor.PulseAll(_gate);
            }
            if (dropped > 0)
                batch.Add(new Line($"restante: {dropped} log line(s) dropped: the console log queue (Logging:Console:MaxQueueLength) was full{Environment.NewLine}", false));
            WriteNow(batch);
            batch.Clear();
        }
    }

    /// <summary>Writes the lines with one write per run of lines bound for the same stream.</summary>
    private void WriteNow(List<Line> lines)
    {
        lock (_writeGate) WriteRuns(lines);
    }

    private void WriteRuns(List<Line> lines)
    {
        var start = 0;
        while (start < lines.Count)
        {
            var toError = lines[start].ToError;
            var end = start;
            var length = 0;
            while (end < lines.Count && lines[end].ToError == toError) length += Encoding.UTF8.GetMaxByteCount(lines[end++].Text.Length);
            if (_bytes.Length < length) _bytes = new byte[Math.Max(length, _bytes.Length * 2)];
            var used = 0;
            for (var i = start; i < end; i++) used += Encoding.UTF8.GetBytes(lines[i].Text, _bytes.AsSpan(used));
            try
            {
                (toError ? _error : _output).Write(_bytes, 0, used);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // The reader went away (a closed pipe) or the stream was closed at exit: as with Console.Out, there is
                // nobody left to tell, and the writer thread must not die of it (an unhandled exception ends the process).
            }
            start = end;
        }
    }

    /// <summary>Writes what is queued and stops the thread; lines logged later are written at once.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        // Bounded, as the runtime's console logger bounds it: a stdout nobody reads must not hang the exit.
        _ = _thread.Join(TimeSpan.FromSeconds(2));
        lock (_gate) _stopped = true;
    }
}
