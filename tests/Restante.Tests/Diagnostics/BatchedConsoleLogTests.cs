using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Restante.Cli;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Diagnostics;

/// <summary>
/// The console log of `restante serve` writes a batch of lines at a time: every line still arrives whole and in order,
/// an Error line is not held back, and shutting down writes what is queued. Lines go to a real file, as a redirected
/// stdout does; the file's writes are counted.
/// </summary>
public class BatchedConsoleLogTests
{
    [Fact]
    public async Task Lines_from_many_threads_all_arrive_whole_in_order_and_share_writes()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "out.log");
        await using var file = new CountingStream(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0));
        const int threads = 8, perThread = 200;
        using (var writer = new BatchedConsoleWriter(file, Stream.Null, maxQueued: 2500, ConsoleLoggerQueueFullMode.Wait, TimeSpan.FromSeconds(1)))
        {
            await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(() =>
            {
                for (var i = 0; i < perThread; i++) writer.Enqueue($"thread {t} line {i} {new string('x', t * 10)}\n", toError: false, urgent: false);
            })));
        }

        var lines = File.ReadAllLines(path);
        Assert.Equal(threads * perThread, lines.Length);
        for (var t = 0; t < threads; t++)
        {
            var mine = lines.Where(l => l.StartsWith($"thread {t} ", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(0, perThread).Select(i => $"thread {t} line {i} {new string('x', t * 10)}"), mine);
        }
        // 1,600 lines logged within the one-second window: a handful of writes, not one per line.
        Assert.True(file.Writes < threads * perThread / 10, $"{file.Writes} writes for {lines.Length} lines");
    }

    [Fact]
    public async Task An_error_line_is_written_at_once_and_takes_the_waiting_lines_with_it()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "out.log");
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        // A window no test waits out: only the Error line can get these lines written before the dispose.
        using var writer = new BatchedConsoleWriter(file, Stream.Null, 2500, ConsoleLoggerQueueFullMode.Wait, TimeSpan.FromHours(1));
        writer.Enqueue("information\n", toError: false, urgent: false);
        writer.Enqueue("error\n", toError: false, urgent: true);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (ReadShared(path) != "information\nerror\n" && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal("information\nerror\n", ReadShared(path));
    }

    [Fact]
    public void Shutting_down_writes_what_is_queued_and_later_lines_are_still_written()
    {
        using var dir = new TempDirectory();
        var output = Path.Combine(dir.Path, "out.log");
        var error = Path.Combine(dir.Path, "err.log");
        using (var outFile = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0))
        using (var errFile = new FileStream(error, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0))
        {
            var writer = new BatchedConsoleWriter(outFile, errFile, 2500, ConsoleLoggerQueueFullMode.Wait, TimeSpan.FromHours(1));
            writer.Enqueue("one\n", toError: false, urgent: false);
            writer.Enqueue("to stderr\n", toError: true, urgent: false);
            writer.Enqueue("two\n", toError: false, urgent: false);
            writer.Dispose();
            writer.Enqueue("after\n", toError: false, urgent: false);
        }
        Assert.Equal("one\ntwo\nafter\n", File.ReadAllText(output));
        Assert.Equal("to stderr\n", File.ReadAllText(error));
    }

    [Fact]
    public void Serve_logs_through_the_batched_provider_only()
    {
        foreach (var format in new[] { "simple", "json" })
        {
            var services = new ServiceCollection();
            services.AddLogging(logging => ConsoleLogFormat.Add(logging, services, format));
            var providers = services.Where(d => d.ServiceType == typeof(ILoggerProvider)).Select(d => d.ImplementationType).ToList();
            Assert.Contains(typeof(BatchedConsoleLoggerProvider), providers);
            Assert.DoesNotContain(typeof(ConsoleLoggerProvider), providers);
        }
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Counts the writes that reach the file (each one a write(2) on a real stdout).</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public int Writes { get; private set; }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes++;
            inner.Write(buffer, offset, count);
            inner.Flush();
        }

        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
