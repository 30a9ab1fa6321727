using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Restante.Auth;
using Restante.Diagnostics;
using Restante.Protocol;
using Restante.Storage;

namespace Restante.Delivery;

/// <summary>
/// Local delivery, shared by the LMTP/SMTP listener and <c>restante deliver</c>: decides whether an
/// address is one of our users, enforces quota and size, puts the trace headers in front and hands
/// the copy to the store, which makes it visible atomically and durably (tmp/ → fsync → new/).
/// Never takes the POP3 session lock, so mail arrives while a mailbox is open.
/// </summary>
public sealed class LocalDelivery
{
    private readonly IUserDirectory _users;
    private readonly IMessageDelivery _store;
    private readonly IMailboxUsage? _usage;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public LocalDelivery(IUserDirectory users, IMessageDelivery store, IMailboxUsage? usage, LocalDeliveryOptions options, ILogger? logger = null, TimeProvider? time = null)
    {
        _users = users;
        _store = store;
        _usage = usage;
        Options = options;
        _logger = logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
    }

    public LocalDeliveryOptions Options { get; }

    /// <summary>Counts each recipient's outcome as <c>restante.deliveries</c>; null counts nothing.</summary>
    public RestanteMetrics? Metrics { get; init; }

    /// <summary>
    /// Finds the local user for an address: <c>user</c> or <c>user@domain</c> with a local domain.
    /// The name is looked up as given, then in lower case, then without a "+extension"
    /// (<c>alice+lists@x</c> → alice), the forms MTAs hand over. When the user has a quota and is
    /// already at it (or the declared SIZE would pass it), says so now, before the data is sent.
    /// </summary>
    public async ValueTask<RecipientLookup> FindRecipientAsync(string address, long declaredSize, CancellationToken cancellationToken)
    {
        if (!MailPath.TrySplit(address, out var localPart, out var domain)) return new RecipientLookup(DeliveryStatus.BadAddress, null);
        if (!Options.IsLocalDomain(domain)) return new RecipientLookup(DeliveryStatus.ForeignDomain, null);

        var record = await FindUserAsync(localPart, cancellationToken).ConfigureAwait(false);
        if (record is null) return new RecipientLookup(DeliveryStatus.UnknownUser, null);

        var limit = QuotaRule.LimitFor(record.Fields, Options.DefaultQuota, out var problem);
        if (problem is not null) DeliveryLog.BadQuotaRule(_logger, record.Name, problem);
        var recipient = new LocalRecipient(address, record.Name, limit);
        if (Options.MaxMessageSize > 0 && declaredSize > Options.MaxMessageSize)
            return new RecipientLookup(DeliveryStatus.TooBig, recipient);
        if (limit > 0 && _usage is not null)
        {
            var usage = await TryGetUsageAsync(record.Name, cancellationToken).ConfigureAwait(false);
            if (usage >= limit || usage + declaredSize > limit) return new RecipientLookup(DeliveryStatus.OverQuota, recipient);
        }
        return new RecipientLookup(DeliveryStatus.Delivered, recipient);
    }

    private async ValueTask<UserRecord?> FindUserAsync(string localPart, CancellationToken cancellationToken)
    {
        foreach (var candidate in Candidates(localPart))
        {
            if (!UserName.IsValid(candidate, out _)) continue;
            var record = await _users.FindAsync(candidate, cancellationToken).ConfigureAwait(false);
            if (record is not null) return record;
        }
        return null;
    }

    private static IEnumerable<string> Candidates(string localPart)
    {
        yield return localPart;
        var lower = localPart.ToLowerInvariant();
        if (lower != localPart) yield return lower;
        var plus = localPart.IndexOf('+', StringComparison.Ordinal);
        if (plus > 0)
        {
            var bare = localPart[..plus];
            yield return bare;
            if (bare.ToLowerInvariant() != bare) yield return bare.ToLowerInvariant();
        }
    }

    /// <summary>
    /// Delivers one copy of the spooled message to one recipient. Failures are results, not
    /// exceptions, so that one recipient's full disk or quota never affects the next recipient.
    /// </summary>
    public async ValueTask<DeliveryResult> DeliverAsync(LocalRecipient recipient, DeliveryEnvelope envelope, MessageSpool message, CancellationToken cancellationToken)
    {
        var prefix = TraceHeaders.Build(envelope, recipient, Options.Hostname, _time.GetLocalNow());
        var size = prefix.Length + message.Length;
        var result = await StoreAsync(recipient, prefix, size, message, cancellationToken).ConfigureAwait(false);
        Metrics?.Delivered(MetricTags.ProtocolOf(envelope), MetricTags.OutcomeOf(result.Status));
        // Sender, recipient and Message-ID are what the client sent: escaped (LogText).
        DeliveryLog.Delivery(_logger, envelope.QueueId, LogText.Address(envelope.Sender), LogText.Address(recipient.Address), LogText.Of(recipient.User), size,
            envelope.MessageId is { } messageId ? LogText.Of(messageId, LogText.AddressLimit) : "-", result.Status, result.Uid ?? "-");
        return result;
    }

    private async ValueTask<DeliveryResult> StoreAsync(LocalRecipient recipient, byte[] prefix, long size, MessageSpool message, CancellationToken cancellationToken)
    {
        if (Options.MaxMessageSize > 0 && message.Length > Options.MaxMessageSize)
            return new DeliveryResult(DeliveryStatus.TooBig, null, size);
        if (recipient.QuotaLimit > 0 && _usage is not null)
        {
            // REVIEW: two deliveries racing for the last free space can both pass; like Dovecot's
            // quota this is a soft limit, exceeded by at most the messages in flight.
            var usage = await TryGetUsageAsync(recipient.User, cancellationToken).ConfigureAwait(false);
            if (usage + size > recipient.QuotaLimit) return new DeliveryResult(DeliveryStatus.OverQuota, null, size);
        }
        try
        {
            var stream = message.OpenRead(prefix);
            await using (stream.ConfigureAwait(false))
            {
                var uid = await _store.DeliverAsync(recipient.User, stream, cancellationToken).ConfigureAwait(false);
                return new DeliveryResult(DeliveryStatus.Delivered, uid, size);
            }
        }
        catch (MailStoreException ex)
        {
            DeliveryLog.Failed(_logger, ex, recipient.User);
            var status = ex.Kind == MailStoreErrorKind.Permanent ? DeliveryStatus.PermanentFailure : DeliveryStatus.TemporaryFailure;
            return new DeliveryResult(status, null, size);
        }
        catch (IOException ex)
        {
            // Reading the spool back failed: nothing was made visible, and the sender can retry.
            DeliveryLog.Failed(_logger, ex, recipient.User);
            return new DeliveryResult(DeliveryStatus.TemporaryFailure, null, size);
        }
    }

    /// <summary>The mailbox's usage; 0 (and a log line) when it cannot be measured, so the store decides.</summary>
    private async ValueTask<long> TryGetUsageAsync(string user, CancellationToken cancellationToken)
    {
        try
        {
            return await _usage!.GetUsageAsync(user, cancellationToken).ConfigureAwait(false);
        }
        catch (MailStoreException ex)
        {
            DeliveryLog.UsageUnknown(_logger, ex, user);
            return 0;
        }
    }
}
