namespace Restante.Delivery;

/// <param name="Status">What became of the message for this recipient.</param>
/// <param name="Uid">The stored message's unique-id when delivered.</param>
/// <param name="Size">The octets stored (trace headers included), or that would have been.</param>
public readonly record struct DeliveryResult(DeliveryStatus Status, string? Uid, long Size);
