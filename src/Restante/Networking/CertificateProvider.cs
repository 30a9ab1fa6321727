using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Restante.Networking;

/// <summary>
/// The server certificate, from PEM files, reloaded when the files change (a certbot renewal swaps
/// them under a running server). Every handshake asks for <see cref="Current"/>; at most once per
/// <see cref="CheckInterval"/> that stats the files, and when they changed, loads them and swaps one
/// immutable reference. Established connections keep the certificate they started with. A new file
/// that does not load (half written, key not matching) keeps the old certificate and logs an error.
/// </summary>
public sealed partial class CertificateProvider
{
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _reloadLock = new();
    private ServerCertificate _current;
    private volatile PemFiles _files;
    private FileStamp _failedStamp;
    private long _lastCheckTimestamp;

    /// <param name="certificatePath">PEM: the server certificate first, then any intermediates (certbot's fullchain.pem).</param>
    /// <param name="keyPath">PEM private key; null or empty when it is in <paramref name="certificatePath"/>.</param>
    /// <exception cref="InvalidOperationException">The files cannot be read or do not hold a certificate and its key.</exception>
    public CertificateProvider(string certificatePath, string? keyPath, ILogger logger, TimeProvider? timeProvider = null)
    {
        _files = PemFiles.Of(certificatePath, keyPath);
        _logger = logger;
        _timeProvider = timeProvider ?? TimeProvider.System;
        var stamp = Stamp(_files);
        try
        {
            _current = Load(_files, stamp);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"TlsCertificate: cannot load {_files}: {ex.Message}", ex);
        }
        Loaded(_logger, _current.Certificate.Subject, CertificatePath, DevCertificate.Fingerprint(_current.Certificate), _current.Certificate.NotAfter);
        _lastCheckTimestamp = _timeProvider.GetTimestamp();
    }

    public string CertificatePath => _files.Certificate;

    public string? KeyPath => _files.Key;

    /// <summary>How often the files are checked for a change; a handshake never waits for more than one stat.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The certificate new handshakes use, reloaded first if the files changed.</summary>
    public ServerCertificate Current
    {
        get
        {
            if (_timeProvider.GetElapsedTime(Volatile.Read(ref _lastCheckTimestamp)) >= CheckInterval) CheckForChange();
            return Volatile.Read(ref _current);
        }
    }

    /// <summary>
    /// Whether returning clients may resume their last session: TLS 1.3 tickets (RFC 8446 §2.2), TLS 1.2
    /// tickets (RFC 5077) and session ids. A resumed handshake sends no certificate and makes no signature,
    /// the bulk of a full handshake's server work. False: every handshake is full (OpenSSL still sends a
    /// TLS 1.3 ticket, but it names a session no cache keeps, so it is never honoured).
    /// </summary>
    /// <remarks>
    /// What .NET 10 does on Linux, and so what this turns on: OpenSSL keeps one SSL_CTX per certificate
    /// chain, shared process-wide (keyed by the chain's thumbprints, so every handshake with the same
    /// <see cref="ServerCertificate.Context"/> lands in it). Its ticket keys are random, made when that
    /// SSL_CTX is made, held in memory only, and never rotated; a ticket is accepted for 2 hours (OpenSSL's
    /// session timeout, which .NET leaves alone). A new certificate (renewal, reload) means a new SSL_CTX
    /// and new keys: tickets issued under the old certificate no longer decrypt, and those clients make one
    /// full handshake with the new certificate, which is what a reload after a key compromise must give.
    /// Forward secrecy: TLS 1.3 resumption still runs ECDHE (OpenSSL refuses psk_ke without
    /// SSL_OP_ALLOW_NO_DHE_KEX), so a ticket key read from memory later decrypts no recorded TLS 1.3 traffic;
    /// a TLS 1.2 ticket carries the session's master secret, so that key decrypts the recorded TLS 1.2
    /// sessions it covered, since the process started or the certificate last changed. An operator for
    /// whom that matters turns resumption off, or restarts the server to bound the key's life.
    /// REVIEW: .NET has no API to set or rotate ticket keys (SSL_CTX_set_tlsext_ticket_key_evp_cb); when it
    /// gets one, rotate them every few hours.
    /// </remarks>
    public bool AllowResumption { get; init; } = true;

    /// <summary>
    /// TLS 1.2 and 1.3 only (RFC 8996 deprecates 1.0 and 1.1); no client certificates; no renegotiation. Built once
    /// per certificate and shared by all its handshakes: SslStream copies the options when a handshake starts
    /// (SslAuthenticationOptions.UpdateOptions), and the context in them is what keys OpenSSL's cached SSL_CTX,
    /// so a handshake makes no certificate work of its own and lands where its ticket was issued.
    /// </summary>
    public SslServerAuthenticationOptions ServerOptions(ServerCertificate certificate)
        // AllowResumption is fixed once the provider is built; two threads racing here build equal objects.
        => certificate.ServerOptions ??= new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate.Context,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
            AllowTlsResume = AllowResumption,
        };

    private void CheckForChange()
    {
        // One thread stats; the others use the current certificate meanwhile.
        if (!_reloadLock.TryEnter()) return;
        try
        {
            Volatile.Write(ref _lastCheckTimestamp, _timeProvider.GetTimestamp());
            var stamp = Stamp(_files);
            if (stamp == _current.Stamp || stamp == _failedStamp) return;
            try
            {
                var loaded = Load(_files, stamp);
                Volatile.Write(ref _current, loaded);
                _failedStamp = default;
                Reloaded(_logger, loaded.Certificate.Subject, CertificatePath, DevCertificate.Fingerprint(loaded.Certificate), loaded.Certificate.NotAfter);
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                // Logged once per bad version of the files; the next change is tried again.
                _failedStamp = stamp;
                ReloadFailed(_logger, ex, _files.ToString(), DevCertificate.Fingerprint(_current.Certificate));
            }
        }
        finally
        {
            _reloadLock.Exit();
        }
    }

    /// <summary>
    /// Loads <paramref name="certificatePath"/> (and <paramref name="keyPath"/>) now, changed or not, and
    /// serves them to new handshakes from here on (a configuration reload: SIGHUP, possibly with new
    /// paths). Sessions already in TLS keep theirs. When the files do not load, nothing changes and the
    /// reason is returned.
    /// </summary>
    public bool TryReload(string certificatePath, string? keyPath, out string error)
    {
        var files = PemFiles.Of(certificatePath, keyPath);
        _reloadLock.Enter();
        try
        {
            var stamp = Stamp(files);
            ServerCertificate loaded;
            try
            {
                loaded = Load(files, stamp);
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                error = $"TlsCertificate: cannot load {files}: {ex.Message}";
                return false;
            }
            _files = files;
            Volatile.Write(ref _current, loaded);
            _failedStamp = default;
            Volatile.Write(ref _lastCheckTimestamp, _timeProvider.GetTimestamp());
            Reloaded(_logger, loaded.Certificate.Subject, CertificatePath, DevCertificate.Fingerprint(loaded.Certificate), loaded.Certificate.NotAfter);
            error = string.Empty;
            return true;
        }
        finally
        {
            _reloadLock.Exit();
        }
    }

    /// <summary>Full paths of the certificate file and of the key file (null: the key is in the certificate file).</summary>
    private sealed record PemFiles(string Certificate, string? Key)
    {
        public static PemFiles Of(string certificate, string? key)
            => new(Path.GetFullPath(certificate), string.IsNullOrWhiteSpace(key) ? null : Path.GetFullPath(key));

        public override string ToString() => Key is null ? Certificate : $"{Certificate} with key {Key}";
    }

    private static ServerCertificate Load(PemFiles files, FileStamp stamp)
    {
        var certificate = X509Certificate2.CreateFromPemFile(files.Certificate, files.Key);
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new CryptographicException("The certificate file has no private key and no key file is given.");
        }
        // The rest of a fullchain.pem: intermediates the client may need to build the chain.
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(files.Certificate);
        var intermediates = new X509Certificate2Collection();
        foreach (var other in all)
        {
            if (other.Thumbprint != certificate.Thumbprint) intermediates.Add(other);
        }
        // offline: never fetch missing intermediates from the network during a handshake.
        var context = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        return new ServerCertificate(certificate, context, stamp);
    }

    private static FileStamp Stamp(PemFiles files) => new(FileVersion.Of(files.Certificate), files.Key is null ? default : FileVersion.Of(files.Key));

    internal readonly record struct FileStamp(FileVersion Certificate, FileVersion Key);

    /// <summary>Where a path leads (certbot's live/ names are symlinks into archive/) and what is there.</summary>
    internal readonly record struct FileVersion(string? Target, DateTime LastWrite, long Length)
    {
        public static FileVersion Of(string path)
        {
            try
            {
                var target = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
                var info = new FileInfo(target);
                return info.Exists ? new FileVersion(target, info.LastWriteTimeUtc, info.Length) : new FileVersion(target, default, -1);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return new FileVersion(null, default, -1);
            }
        }
    }

    [LoggerMessage(20, LogLevel.Information, "TLS certificate {Subject} loaded from {Path}, SHA-256 {Fingerprint}, valid until {NotAfter:u}", EventName = "CertificateLoaded")]
    private static partial void Loaded(ILogger logger, string subject, string path, string fingerprint, DateTime notAfter);

    [LoggerMessage(21, LogLevel.Information, "TLS certificate {Subject} reloaded from {Path}, SHA-256 {Fingerprint}, valid until {NotAfter:u}", EventName = "CertificateReloaded")]
    private static partial void Reloaded(ILogger logger, string subject, string path, string fingerprint, DateTime notAfter);

    [LoggerMessage(22, LogLevel.Error, "TLS certificate files changed but cannot be loaded ({Files}); keeping the certificate SHA-256 {Fingerprint}", EventName = "CertificateReloadFailed")]
    private static partial void ReloadFailed(ILogger logger, Exception exception, string files, string fingerprint);
}

/// <summary>One loaded certificate: what handshakes use, and what channel binding (tls-server-end-point) hashes.</summary>
public sealed class ServerCertificate
{
    internal ServerCertificate(X509Certificate2 certificate, SslStreamCertificateContext context, CertificateProvider.FileStamp stamp)
    {
        Certificate = certificate;
        Context = context;
        Stamp = stamp;
    }

    public X509Certificate2 Certificate { get; }

    public SslStreamCertificateContext Context { get; }

    internal CertificateProvider.FileStamp Stamp { get; }

    /// <summary>What every handshake with this certificate uses; see <see cref="CertificateProvider.ServerOptions"/>.</summary>
    internal SslServerAuthenticationOptions? ServerOptions { get; set; }
}
