using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Restante.Networking;

namespace Restante.Tests.Networking;

/// <summary>
/// The connection engine under POP3 and LMTP, driven over a real loopback socket by a tiny line protocol: batching,
/// overlong lines, the bad-command limit, the read deadline and its goodbye.
/// </summary>
public class LineConnectionTests
{
    /// <summary>Echoes each line in upper case; "BAD" is rejected, "QUIT" closes. Lines up to 32 octets, 3 bad in a row.</summary>
    private sealed class EchoProtocol(TimeSpan readTimeout) : ILineProtocol
    {
        public LineConnection Connection { get; set; } = null!;
        public TaskCompletionSource<string> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int LineLimit => 32;
        public int MaxBadCommands => 3;
        public TimeSpan WriteTimeout => TimeSpan.FromMinutes(1);
        public int ReadsArmed;

        public TimeSpan NextReadTimeout()
        {
            Interlocked.Increment(ref ReadsArmed);
            return readTimeout;
        }

        public void Begin()
        {
        }

        public void Finished()
        {
        }

        public ValueTask<bool> OpenAsync()
        {
            Write("HELLO");
            return ValueTask.FromResult(true);
        }

        public ValueTask<LineOutcome> ExecuteLineAsync(ReadOnlySequence<byte> line, CancellationToken cancellationToken)
        {
            var text = Encoding.ASCII.GetString(line.ToArray());
            if (text == "QUIT")
            {
                Write("BYE");
                return ValueTask.FromResult(LineOutcome.Close);
            }
            if (text == "BAD")
            {
                Write("ERR");
                Connection.CountBadCommand();
                return ValueTask.FromResult(LineOutcome.Continue);
            }
            Write(text.ToUpperInvariant());
            return ValueTask.FromResult(LineOutcome.Continue);
        }

        public void WriteLineTooLong() => Write("TOO LONG");
        public void WriteTooManyBadCommands() => Write("TOO MANY");
        public ValueTask<bool> StartTlsAsync(long discardedPlaintext) => ValueTask.FromResult(false);

        public byte[]? Interrupted(bool serverStopping)
        {
            Connection.EndReason = serverStopping ? "stopping" : "timed out";
            return "IDLE\r\n"u8.ToArray();
        }

        public void Failed(Exception exception) => Ended.TrySetException(exception);

        public ValueTask EndAsync()
        {
            Ended.TrySetResult(Connection.EndReason);
            return ValueTask.CompletedTask;
        }

        private void Write(string text) => Connection.Output.Write(Encoding.ASCII.GetBytes(text + "\r\n"));
    }

    /// <summary>Counts the writes that reach the socket: one per flush.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public int Writes;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Writes);
            return inner.WriteAsync(buffer, cancellationToken);
        }
    }

    private sealed class Loopback : IAsyncDisposable
    {
        private readonly Socket _server;
        public required Socket Client { get; init; }
        public required StreamReader Reader { get; init; }
        public required CountingStream? ServerStream { get; init; }
        public required LineConnection Connection { get; init; }
        public required EchoProtocol Protocol { get; init; }
        public required Task Run { get; init; }
        public required CancellationTokenSource Stopping { get; init; }

        public Loopback(Socket server) => _server = server;

        /// <param name="counted">Through <see cref="CountingStream"/>; without it the session reads the socket's own
        /// stream, the one it may wait on without its pipes (idle release).</param>
        public static async Task<Loopback> StartAsync(TimeProvider time, TimeSpan readTimeout, bool counted = true)
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(listener.LocalEndPoint!);
            var server = await listener.AcceptAsync();
            var socketStream = new NetworkStream(server, ownsSocket: false);
            var counting = counted ? new CountingStream(socketStream) : null;
            var protocol = new EchoProtocol(readTimeout);
            var connection = new LineConnection(counting ?? (Stream)socketStream, time, new(leaveOpen: true, useZeroByteReads: true), new(leaveOpen: true));
            protocol.Connection = connection;
            var stopping = new CancellationTokenSource();
            return new Loopback(server)
            {
                Client = client,
                Reader = new StreamReader(new NetworkStream(client, ownsSocket: false), Encoding.ASCII),
                ServerStream = counting,
                Connection = connection,
                Protocol = protocol,
                Run = RunThenCloseAsync(connection, protocol, server, stopping.Token),
                Stopping = stopping,
            };
        }

        /// <summary>As the listener does: the socket closes once the session is over.</summary>
        private static async Task RunThenCloseAsync(LineConnection connection, EchoProtocol protocol, Socket server, CancellationToken stopping)
        {
            await connection.RunAsync(protocol, stopping);
            server.Shutdown(SocketShutdown.Both);
            server.Close();
        }

        public Task SendAsync(string text) => Client.SendAsync(Encoding.ASCII.GetBytes(text));

        public async Task<string?> ReadLineAsync() => await Reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));

        public async ValueTask DisposeAsync()
        {
            await Stopping.CancelAsync();
            await Run.WaitAsync(TimeSpan.FromSeconds(30));
            Client.Dispose();
            _server.Dispose();
            Stopping.Dispose();
        }
    }

    [Fact]
    public async Task Pipelined_lines_are_answered_in_order_with_one_write_per_batch()
    {
        await using var c = await Loopback.StartAsync(TimeProvider.System, TimeSpan.FromMinutes(1));
        Assert.Equal("HELLO", await c.ReadLineAsync());
        var writesBefore = c.ServerStream!.Writes;
        await c.SendAsync(string.Concat(Enumerable.Range(0, 20).Select(i => $"line {i}\r\n")));
        for (var i = 0; i < 20; i++) Assert.Equal($"LINE {i}", await c.ReadLineAsync());
        // One read normally carries all 20 lines on loopback; a split read costs one more write, never one per line.
        Assert.InRange(c.ServerStream.Writes - writesBefore, 1, 3);
    }

    [Fact]
    public async Task An_overlong_line_is_answered_once_and_skipped_to_its_end()
    {
        await using var c = await Loopback.StartAsync(TimeProvider.System, TimeSpan.FromMinutes(1));
        Assert.Equal("HELLO", await c.ReadLineAsync());
        await c.SendAsync(new string('x', 10_000) + "\r\nafter\r\n");
        Assert.Equal("TOO LONG", await c.ReadLineAsync());
        Assert.Equal("AFTER", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Overlong_lines_count_toward_the_bad_command_limit()
    {
        await using var c = await Loopback.StartAsync(TimeProvider.System, TimeSpan.FromMinutes(1));
        Assert.Equal("HELLO", await c.ReadLineAsync());
        await c.SendAsync("BAD\r\n" + new string('x', 100) + "\r\nBAD\r\n");
        Assert.Equal("ERR", await c.ReadLineAsync());
        Assert.Equal("TOO LONG", await c.ReadLineAsync());
        Assert.Equal("ERR", await c.ReadLineAsync());
        Assert.Equal("TOO MANY", await c.ReadLineAsync());
        Assert.Null(await c.ReadLineAsync());
        Assert.Equal("too many bad commands", await c.Protocol.Ended.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_good_line_resets_the_bad_command_count()
    {
        await using var c = await Loopback.StartAsync(TimeProvider.System, TimeSpan.FromMinutes(1));
        Assert.Equal("HELLO", await c.ReadLineAsync());
        await c.SendAsync("BAD\r\nBAD\r\nok\r\nBAD\r\nBAD\r\nQUIT\r\n");
        foreach (var expected in new[] { "ERR", "ERR", "OK", "ERR", "ERR", "BYE" })
            Assert.Equal(expected, await c.ReadLineAsync());
        Assert.Null(await c.ReadLineAsync());
    }

    [Fact]
    public async Task A_silent_client_gets_the_goodbye_when_the_read_deadline_passes()
    {
        var time = new FakeTimeProvider();
        await using var c = await Loopback.StartAsync(time, TimeSpan.FromMinutes(10));
        Assert.Equal("HELLO", await c.ReadLineAsync());
        await c.SendAsync("ping\r\n");
        Assert.Equal("PING", await c.ReadLineAsync());
        // The fake clock must not move before the next read has armed its deadline.
        while (Volatile.Read(ref c.Protocol.ReadsArmed) < 2) await Task.Delay(10);
        await Task.Delay(100);
        time.Advance(TimeSpan.FromMinutes(9));
        await Task.Delay(100);
        Assert.False(c.Protocol.Ended.Task.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(1) + Heartbeat.Interval);
        Assert.Equal("IDLE", await c.ReadLineAsync());
        Assert.Null(await c.ReadLineAsync());
        Assert.Equal("timed out", await c.Protocol.Ended.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_session_waiting_on_the_socket_holds_no_pipe_and_answers_a_burst_after_the_wait()
    {
        await using var c = await Loopback.StartAsync(TimeProvider.System, TimeSpan.FromMinutes(10), counted: false);
        Assert.Equal("HELLO", await c.ReadLineAsync());
        await c.SendAsync("ping\r\n");
        Assert.Equal("PING", await c.ReadLineAsync());
        await WaitForReadArmedAsync(c, 2);
        // Waiting for its client, the session holds no reader, writer or read buffer, only the socket's own wait.
        await WaitUntilAsync(() => !c.Connection.HoldsPipes);

        // A burst after the wait: all of it runs, in order, once the pipes are made again.
        await c.SendAsync("a\r\nb\r\nc\r\nQUIT\r\n");
        foreach (var expected in new[] { "A", "B", "C", "BYE" })
            Assert.Equal(expected, await c.ReadLineAsync());
        Assert.Null(await c.ReadLineAsync());
    }

    [Fact]
    public async Task A_partial_line_held_over_a_wait_is_completed_by_the_next_bytes()
    {
        await using var c = await Loopback.StartAsync(TimeProvider.System, TimeSpan.FromMinutes(10), counted: false);
        Assert.Equal("HELLO", await c.ReadLineAsync());
        await c.SendAsync("par");
        // The reader that holds "par" is kept over the socket wait; the writer (nothing unflushed) is let go.
        await WaitForReadArmedAsync(c, 2);
        await WaitUntilAsync(() => c.Connection.HoldsReader && !c.Connection.HoldsWriter);
        await c.SendAsync("tial\r\nnext\r\n");
        Assert.Equal("PARTIAL", await c.ReadLineAsync());
        Assert.Equal("NEXT", await c.ReadLineAsync());
    }

    [Fact]
    public async Task A_session_waiting_on_the_socket_still_gets_the_goodbye_at_the_read_deadline()
    {
        var time = new FakeTimeProvider();
        await using var c = await Loopback.StartAsync(time, TimeSpan.FromMinutes(10), counted: false);
        Assert.Equal("HELLO", await c.ReadLineAsync());
        await WaitForReadArmedAsync(c, 1);
        await WaitUntilAsync(() => !c.Connection.HoldsPipes);
        time.Advance(TimeSpan.FromMinutes(10) + Heartbeat.Interval);
        Assert.Equal("IDLE", await c.ReadLineAsync());
        Assert.Equal("timed out", await c.Protocol.Ended.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    private static async Task WaitForReadArmedAsync(Loopback c, int reads)
    {
        // The fake clock must not move before the read has armed its deadline.
        await WaitUntilAsync(() => Volatile.Read(ref c.Protocol.ReadsArmed) >= reads);
        await Task.Delay(100);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < giveUp, "the condition did not hold within 30 s");
            await Task.Delay(10);
        }
    }
}
