namespace Restante.Delivery;

/// <summary>The answer to "may this address receive mail here?": a recipient, or why not.</summary>
public readonly record struct RecipientLookup(DeliveryStatus Status, LocalRecipient? Recipient);
