namespace Restante.Pop3.Quirks;

/// <summary>What the quirk profiles that apply to one session switch on; resolved at connect and again at login (<see cref="QuirkTable"/>).</summary>
internal sealed record ClientQuirks(bool Last, EmptyAuthReply EmptyAuth, bool MarkSeenOnQuit);
