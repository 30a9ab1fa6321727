using Restante.Protocol;

namespace Restante.Pop3;

/// <summary>Which command is legal in which state; the only place that says so.</summary>
internal static class StateTable
{
    // RFC 1939 §4–§7; RFC 2449 §5 (CAPA in both states); RFC 2595 §4 (STLS in AUTHORIZATION only);
    // RFC 5034 §4 (AUTH in AUTHORIZATION only); RFC 6856 §2 (UTF8 in AUTHORIZATION only) and §3.1 (LANG in both); RFC 1460 (LAST in TRANSACTION, for quirk profiles only).
    public static bool Allows(Pop3State state, Pop3Verb verb) => state switch
    {
        Pop3State.Authorization => verb is Pop3Verb.Capa or Pop3Verb.User or Pop3Verb.Pass or Pop3Verb.Apop
                                        or Pop3Verb.Auth or Pop3Verb.Stls or Pop3Verb.Quit or Pop3Verb.Utf8 or Pop3Verb.Lang,
        Pop3State.Transaction => verb is Pop3Verb.Capa or Pop3Verb.Stat or Pop3Verb.List or Pop3Verb.Retr
                                        or Pop3Verb.Top or Pop3Verb.Dele or Pop3Verb.Noop or Pop3Verb.Rset
                                        or Pop3Verb.Uidl or Pop3Verb.Quit or Pop3Verb.Last or Pop3Verb.Lang,
        _ => false,
    };
}
