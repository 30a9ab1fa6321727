using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Restante.LoadGen;

/// <summary>
/// How one worker's connections do implicit TLS (POP3S, RFC 8314): as a client seen for the first
/// time (a full handshake on every connection, --tls) or as a returning one (--tls-resume: each
/// connection offers the session ticket its worker's last connection received, RFC 8446 §2.2).
/// The benchmark talks only to loopback servers with throw-away certificates: any certificate is taken.
/// </summary>
internal sealed class TlsClient
{
    private readonly SslClientAuthenticationOptions _options;
    private int _certificateLength;

    private TlsClient(SslClientAuthenticationOptions options) => _options = options;

    /// <summary>Null without --tls or --tls-resume.</summary>
    public static TlsClient? For(Options o, int worker) => !o.Tls ? null : new TlsClient(new SslClientAuthenticationOptions
    {
        // .NET (on OpenSSL) keeps one session per target host name, process-wide, and offers it when a
        // handshake names that host again; it never resumes to an IP address. A host name per worker
        // gives each simulated client a session of its own, as a real returning client has.
        TargetHost = o.TlsResume ? $"worker{worker}.loadgen.localhost" : "localhost",
        AllowTlsResume = o.TlsResume,
        RemoteCertificateValidationCallback = static (_, _, _, _) => true,
    });

    /// <summary>Handshakes over <paramref name="transport"/>; true when the server resumed a session.</summary>
    public async ValueTask<(SslStream Stream, bool Resumed)> HandshakeAsync(Stream transport, CancellationToken ct)
    {
        var meter = new HandshakeMeter(transport);
        var ssl = new SslStream(meter, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(_options, ct).ConfigureAwait(false);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        meter.Stop();
        // A full handshake carries the server's certificate; a resumed one sends only its hello,
        // extensions and Finished, which together are smaller than any certificate. .NET has no
        // "resumed" flag, so the size of what the server sent is the signal.
        if (ssl.RemoteCertificate is X509Certificate2 certificate)
        {
            _certificateLength = certificate.RawDataMemory.Length;
            // .NET builds and checks the server's chain on every handshake, resumed ones too, before the callback
            // above can say yes; against the system store of ~150 roots that costs the client as much CPU as the
            // server's whole resumed handshake, on the same 2 cores. From the second connection on, the worker
            // trusts the certificate it saw first as its only root (what a client that pinned the certificate
            // does), so the chain is one certificate checked against one: the measure is the server, not the store.
            _options.CertificateChainPolicy ??= new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                CustomTrustStore = { certificate },
                RevocationMode = X509RevocationMode.NoCheck,
                DisableCertificateDownloads = true,
            };
        }
        return (ssl, _certificateLength > 0 && meter.BytesRead < _certificateLength);
    }

    /// <summary>Counts what the server sends until the handshake is over, then only passes bytes through.</summary>
    private sealed class HandshakeMeter(Stream inner) : Stream
    {
        private bool _counting = true;

        public long BytesRead { get; private set; }

        public void Stop() => _counting = false;

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
            => _counting ? CountAsync(inner.ReadAsync(buffer, ct)) : inner.ReadAsync(buffer, ct);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct)
            => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => inner.WriteAsync(buffer, ct);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => inner.WriteAsync(buffer, offset, count, ct);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        private async ValueTask<int> CountAsync(ValueTask<int> read) => Count(await read.ConfigureAwait(false));

        private int Count(int read)
        {
            if (_counting) BytesRead += read;
            return read;
        }
    }
}
