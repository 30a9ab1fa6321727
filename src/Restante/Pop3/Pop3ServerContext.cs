using Microsoft.Extensions.Logging;
using Restante.Auth;
using Restante.Auth.Sasl;
using Restante.Diagnostics;
using Restante.Networking;
using Restante.Policies;
using Restante.Storage;

namespace Restante.Pop3;

/// <summary>What every POP3 session of one server shares.</summary>
public sealed class Pop3ServerContext
{
    public Pop3ServerContext(Pop3Options options, IMailStore store, Authenticator authenticator, ILoggerFactory loggerFactory,
        TimeProvider? timeProvider = null, LoginThrottle? throttle = null, SaslServices? sasl = null)
    {
        Options = options;
        Store = store;
        Authenticator = authenticator;
        Logger = loggerFactory.CreateLogger("Restante.Pop3");
        TimeProvider = timeProvider ?? TimeProvider.System;
        Hostname = string.IsNullOrWhiteSpace(options.Hostname) ? System.Net.Dns.GetHostName() : options.Hostname;
        Capabilities = new Capabilities();
        Throttle = throttle ?? new LoginThrottle(new LoginThrottleOptions(), static _ => true, TimeProvider);
        LoginHistory = new LoginHistory(TimeProvider);
        Takeover = new Takeover.MailboxTakeover(options, Logger);
        Sessions = new Admin.SessionRegistry(TimeProvider);
        Policies = new MailboxPolicies(options.LoginDelay, options.Expire, options.Policies);
        QuirkTable = new Quirks.QuirkTable(options.Quirks);
        Sasl = sasl ?? new SaslServices(authenticator, options.Sasl, Hostname,
            options.OAuth.IsConfigured ? new OAuthTokenValidator(options.OAuth, TimeProvider) : null);
    }

    /// <summary>Failed-login counting and blocking, shared by every listener.</summary>
    public LoginThrottle Throttle { get; }

    internal LoginHistory LoginHistory { get; }

    /// <summary>The client quirk profiles (<see cref="Pop3Options.Quirks"/>), parsed once.</summary>
    internal Quirks.QuirkTable QuirkTable { get; }

    internal Takeover.MailboxTakeover Takeover { get; }

    /// <summary>Slots for commands that open folders and message files (RETR, TOP, login, QUIT): see FileDescriptorLimit.BusyShareDivisor.</summary>
    internal CommandDescriptorGate CommandDescriptors { get; set; } = CommandDescriptorGate.Unlimited(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
    /// <summary>The sessions running now, for `restante sessions` and `restante kick`.</summary>
    public Admin.SessionRegistry Sessions { get; }

    /// <summary>Each user's LOGIN-DELAY and EXPIRE, and what CAPA says before login.</summary>
    public MailboxPolicies Policies { get; }

    /// <summary>
    /// The user's policy. The user's record is looked up only when a field could change anything (the bounds leave
    /// room), and not at all when the login already has it (<paramref name="record"/>: USER/PASS and APOP hand over the
    /// record their check found), so a login costs one lookup of the user directory, with or without policies.
    /// </summary>
    internal async ValueTask<MailboxPolicy> PolicyForAsync(string user, UserRecord? record, CancellationToken cancellationToken)
    {
        if (!Policies.LoginDelayVaries && !Policies.ExpireVaries) return Policies.For(user, null, out _);
        record ??= await Authenticator.FindRecordAsync(user, cancellationToken).ConfigureAwait(false);
        var policy = Policies.For(user, record, out var problem);
        if (problem is not null) Pop3Log.PolicyFieldIgnored(Logger, Protocol.LogText.Of(user), problem);
        return policy;
    }

    public Pop3Options Options { get; }

    public IMailStore Store { get; }

    public Authenticator Authenticator { get; }

    public ILogger Logger { get; }

    public TimeProvider TimeProvider { get; }

    public string Hostname { get; }

    /// <summary>The TLS certificate for STLS and POP3S; null when TLS is not offered.</summary>
    public CertificateProvider? Certificates { get; init; }

    /// <summary>Observers of every session (the test kit's transcripts and faults); null in a production server.</summary>
    public IPop3SessionHooks? Hooks { get; init; }

    /// <summary>
    /// Where sessions count logins, bytes and ends: the server's. A context made without one shares a process-wide
    /// instance, made only then, so a host that gives its own never has a second meter of the same name beside it.
    /// </summary>
    public RestanteMetrics Metrics
    {
        get => _metrics ?? s_shared.Value;
        init => _metrics = value;
    }

    private readonly RestanteMetrics? _metrics;

    private static readonly Lazy<RestanteMetrics> s_shared = new(() => new RestanteMetrics());

    /// <summary>The enabled SASL mechanisms and what they need.</summary>
    public SaslServices Sasl { get; }

    internal Capabilities Capabilities { get; }
}
