using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Hosting;
using Restante.Pop3;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Tls;

/// <summary>
/// What RETR hands the TLS stream. Every write to SslStream is at least one TLS record and one send(2); a
/// ~20-octet status line or a 5-octet terminator in writes of their own cost a record and a send each, and the
/// client a wake-up, for nothing. A message that fits one chunk goes out as one write: +OK, message, terminator.
/// </summary>
public class TlsRetrWritesTests
{
    [Theory]
    [InlineData(true)]    // POP3S, RFC 8314
    [InlineData(false)]   // STLS, RFC 2595
    public async Task Retr_over_tls_is_one_write_from_the_status_line_to_the_terminator(bool implicitTls)
    {
        using var data = new TempDirectory();
        File.WriteAllText(Path.Combine(data.Path, "passwd"), "alice:{PLAIN}secret::::::\n");
        // ~50 KB with LF line ends, as Postfix writes them: the converting path, the one TLS always takes.
        var body = new StringBuilder("Subject: big\n\n");
        while (body.Length < 50_000) body.Append("a line of a message body that goes on for a while\n");
        var maildir = Path.Combine(data.Path, "mail", "alice");
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(maildir, sub));
        File.WriteAllText(Path.Combine(maildir, "new", "1700000000.P1Q1.test"), body.ToString());

        var hooks = new TlsWriteRecorder();
        var options = new RestanteOptions { DataDirectory = data.Path, Pop3 = ["127.0.0.1:0"], Pop3s = ["127.0.0.1:0"], Fsync = false };
        await using var server = new Pop3Server(options, new Pop3Options { Hostname = "test.example" }, NullLoggerFactory.Instance, sessionHooks: hooks);
        await server.StartAsync();
        var thumbprint = server.Certificates!.Current.Certificate.Thumbprint;
        System.Net.Security.RemoteCertificateValidationCallback trust = (_, certificate, _, _) => certificate?.GetCertHashString() == thumbprint;

        await using var c = implicitTls
            ? await Transcript.ConnectTlsAsync(server.Pop3sEndPoints[0], trust)
            : await Transcript.ConnectAsync(server.Pop3EndPoints[0]);
        await c.ExpectAsync("+OK");
        if (!implicitTls)
        {
            await c.SendAsync("STLS");
            await c.ExpectAsync("+OK");
            await c.StartTlsAsync(trust);
        }
        await c.SendAsync("USER alice");
        await c.ExpectAsync("+OK");
        await c.SendAsync("PASS secret");
        await c.ExpectAsync("+OK");

        hooks.Writes.Clear();
        await c.SendAsync("RETR 1");
        await c.ExpectAsync("+OK");
        var lines = await c.ReadMultiLineAsync();
        Assert.Equal("Subject: big", lines[0]);

        var write = Assert.Single(hooks.Writes);
        Assert.StartsWith("+OK ", Encoding.ASCII.GetString(write, 0, 4), StringComparison.Ordinal);
        Assert.EndsWith("\r\n.\r\n", Encoding.ASCII.GetString(write, write.Length - 5, 5), StringComparison.Ordinal);
        Assert.True(write.Length > 50_000, $"one write of {write.Length} octets");
    }

    /// <summary>Records every write the session makes to its TLS stream (the hook sits right above SslStream).</summary>
    private sealed class TlsWriteRecorder : IPop3SessionHooks
    {
        public List<byte[]> Writes { get; } = [];

        public Stream OnTransport(Pop3Session session, Stream transport)
            => transport is System.Net.Security.SslStream ? new Recording(transport, Writes) : transport;

        private sealed class Recording(Stream inner, List<byte[]> writes) : Stream
        {
            public override bool CanRead => true;
            public override bool CanWrite => true;
            public override bool CanSeek => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

            public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
                => inner.ReadAsync(buffer, offset, count, cancellationToken);

            public override void Write(byte[] buffer, int offset, int count)
            {
                Record(buffer.AsSpan(offset, count));
                inner.Write(buffer, offset, count);
            }

            public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
            {
                Record(buffer.Span);
                return inner.WriteAsync(buffer, cancellationToken);
            }

            public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
                => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

            public override void Flush() => inner.Flush();

            public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing) inner.Dispose();
                base.Dispose(disposing);
            }

            public override ValueTask DisposeAsync() => inner.DisposeAsync();

            private void Record(ReadOnlySpan<byte> bytes)
            {
                lock (writes) writes.Add(bytes.ToArray());
            }
        }
    }
}
