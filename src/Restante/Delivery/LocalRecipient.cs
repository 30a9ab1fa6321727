namespace Restante.Delivery;

/// <param name="Address">The address as the client gave it; it becomes the Delivered-To: line.</param>
/// <param name="User">The local user whose mailbox receives the message.</param>
/// <param name="QuotaLimit">The user's storage limit in octets; 0 means none.</param>
public sealed record LocalRecipient(string Address, string User, long QuotaLimit);
