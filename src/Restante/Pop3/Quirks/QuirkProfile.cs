namespace Restante.Pop3.Quirks;

/// <summary>
/// One client quirk profile (<c>Quirks:Profiles:N</c>): which sessions it applies to and what it changes. A profile
/// applies when the client's address is in one of <see cref="Networks"/> (when any are given) and the user is one
/// of <see cref="Users"/> (when any are given; such a profile applies from login on). Several profiles may apply;
/// their switches add up.
/// </summary>
public sealed class QuirkProfile
{
    /// <summary>For the log and the validation messages.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Client addresses, as CIDR ranges ("192.0.2.0/24") or single addresses.</summary>
    public List<string> Networks { get; set; } = [];

    /// <summary>User names, exactly as they log in.</summary>
    public List<string> Users { get; set; } = [];

    /// <summary>RFC 1460 LAST for clients that still use it to find new messages.</summary>
    public bool Last { get; set; }

    /// <summary>The answer to a bare AUTH line; null leaves the server's (<see cref="QuirkOptions.EmptyAuth"/>).</summary>
    public EmptyAuthReply? EmptyAuth { get; set; }

    /// <summary>
    /// At QUIT, messages retrieved with RETR and not deleted are moved into <c>cur/</c> with the S (seen) flag, so an
    /// IMAP server on the same Maildir shows them as read. Maildir only; unique-ids do not change.
    /// </summary>
    public bool MarkSeenOnQuit { get; set; }
}
