using System.Text.RegularExpressions;

namespace Restante.Pop3.Language;

/// <summary>
/// Every human-readable response text in every language, in one place (RFC 6856 §3 LANG). The code writes the English
/// text; a session that chose another language has it translated here, on its way out, by exact match or by template
/// (the variable parts — numbers, quoted arguments — are carried over). A text with no translation goes out in English:
/// better an English sentence than none. Machine-read replies (STAT, LIST, UIDL, "+OK n octets") are never translated.
/// </summary>
internal static class ResponseTexts
{
    public static ResponseLanguage English { get; } = new("en", "English", new Dictionary<string, string>());

    public static ResponseLanguage German { get; } = new("de", "Deutsch", new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Language changed."] = "Sprache geändert.",
        ["Unknown language."] = "Unbekannte Sprache.",
        ["Language listing follows:"] = "Liste der Sprachen folgt:",
        ["UTF-8 mode enabled."] = "UTF-8-Modus eingeschaltet.",
        ["Capability list follows"] = "Liste der Fähigkeiten folgt",
        ["Methods supported:"] = "Unterstützte Verfahren:",
        ["Send your password."] = "Bitte Passwort senden.",
        ["Logged in, {0} messages ({1} octets)."] = "Angemeldet, {0} Nachrichten ({1} Oktette).",
        ["Logging out."] = "Abmeldung.",
        ["Logging out, {0} messages deleted."] = "Abmeldung, {0} Nachrichten gelöscht.",
        ["Marked to be deleted."] = "Zum Löschen vorgemerkt.",
        ["Top of message follows"] = "Nachrichtenkopf folgt",
        ["Begin TLS negotiation now."] = "TLS-Aushandlung kann beginnen.",
        ["maildrop has {0} messages ({1} octets)"] = "Postfach enthält {0} Nachrichten ({1} Oktette)",
        ["Some deleted messages not removed."] = "Einige gelöschte Nachrichten wurden nicht entfernt.",
        ["Too many bad commands, closing connection."] = "Zu viele fehlerhafte Befehle, Verbindung wird geschlossen.",
        ["Line too long."] = "Zeile zu lang.",
        ["Argument too long."] = "Argument zu lang.",
        ["Empty command."] = "Leerer Befehl.",
        ["Unknown command."] = "Unbekannter Befehl.",
        ["Command not valid before login."] = "Befehl vor der Anmeldung nicht erlaubt.",
        ["Command not valid after login."] = "Befehl nach der Anmeldung nicht erlaubt.",
        ["Authentication failed."] = "Anmeldung fehlgeschlagen.",
        ["Authentication cancelled."] = "Anmeldung abgebrochen.",
        ["Plaintext authentication disallowed on non-secure connections."] = "Klartext-Anmeldung auf unverschlüsselten Verbindungen nicht erlaubt.",
        ["Too many failed logins from your address, try again later."] = "Zu viele fehlgeschlagene Anmeldungen von Ihrer Adresse, bitte später erneut versuchen.",
        ["Server busy, please try again later."] = "Server ausgelastet, bitte später erneut versuchen.",
        ["Mailbox is locked by another POP3 session."] = "Postfach ist von einer anderen POP3-Sitzung gesperrt.",
        ["Mailbox is temporarily unavailable, please try again later."] = "Postfach vorübergehend nicht verfügbar, bitte später erneut versuchen.",
        ["Mailbox cannot be opened."] = "Postfach kann nicht geöffnet werden.",
        ["Minimum time between logins not reached, try again later."] = "Mindestabstand zwischen Anmeldungen nicht erreicht, bitte später erneut versuchen.",
        ["Message cannot be read right now."] = "Nachricht kann gerade nicht gelesen werden.",
        ["Message is deleted."] = "Nachricht ist gelöscht.",
        ["This message needs UTF-8 mode: send UTF8 first."] = "Diese Nachricht erfordert den UTF-8-Modus: zuerst UTF8 senden.",
        ["Missing message number."] = "Nachrichtennummer fehlt.",
        ["Invalid message number: {0}"] = "Ungültige Nachrichtennummer: {0}",
        ["There's no message {0}."] = "Es gibt keine Nachricht {0}.",
        ["Noise after message number: {0}"] = "Überzählige Angaben nach der Nachrichtennummer: {0}",
        ["Invalid line count: {0}"] = "Ungültige Zeilenzahl: {0}",
        ["Noise after line count: {0}"] = "Überzählige Angaben nach der Zeilenzahl: {0}",
        ["TOP needs a message number and a line count."] = "TOP braucht eine Nachrichtennummer und eine Zeilenzahl.",
        ["USER needs a user name."] = "USER braucht einen Benutzernamen.",
        ["Invalid user name."] = "Ungültiger Benutzername.",
        ["Send USER first."] = "Zuerst USER senden.",
        ["APOP is not available on this server."] = "APOP ist auf diesem Server nicht verfügbar.",
        ["APOP needs a user name and a digest."] = "APOP braucht einen Benutzernamen und einen Digest.",
        ["AUTH needs a mechanism name."] = "AUTH braucht den Namen eines Verfahrens.",
        ["AUTH takes a mechanism and at most one initial response."] = "AUTH nimmt ein Verfahren und höchstens eine erste Antwort.",
        ["Unsupported authentication mechanism."] = "Anmeldeverfahren nicht unterstützt.",
        ["Invalid base64 data in initial response."] = "Ungültige Base64-Daten in der ersten Antwort.",
        ["Invalid base64 data in response."] = "Ungültige Base64-Daten in der Antwort.",
        ["TLS is already active."] = "TLS ist bereits aktiv.",
        ["TLS support isn't enabled."] = "TLS ist nicht eingeschaltet.",
        ["STLS is not allowed after UTF8."] = "STLS ist nach UTF8 nicht erlaubt.",
        ["CAPA takes no arguments."] = "CAPA nimmt keine Argumente.",
        ["NOOP takes no arguments."] = "NOOP nimmt keine Argumente.",
        ["RSET takes no arguments."] = "RSET nimmt keine Argumente.",
        ["STAT takes no arguments."] = "STAT nimmt keine Argumente.",
        ["STLS takes no arguments."] = "STLS nimmt keine Argumente.",
        ["LAST takes no arguments."] = "LAST nimmt keine Argumente.",
        ["UTF8 takes no arguments."] = "UTF8 nimmt keine Argumente.",
    });

    /// <summary>What LANG lists, in this order; the first is the server's preferred language ("LANG *").</summary>
    public static IReadOnlyList<ResponseLanguage> All { get; } = [English, German];

    private static readonly Dictionary<ResponseLanguage, (Regex Pattern, string Template)[]> s_templates = All.ToDictionary(
        language => language,
        language => language.Texts.Where(t => t.Key.Contains('{', StringComparison.Ordinal))
            .Select(t => (new Regex("^" + Regex.Escape(t.Key).Replace(@"\{0}", "(.*)", StringComparison.Ordinal).Replace(@"\{1}", "(.*)", StringComparison.Ordinal) + "$",
                RegexOptions.CultureInvariant | RegexOptions.Singleline), t.Value))
            .ToArray());

    /// <summary>The text in <paramref name="language"/>, or the English one when there is no translation.</summary>
    public static string Translate(ResponseLanguage language, string english)
    {
        if (language.IsDefault) return english;
        if (language.Texts.TryGetValue(english, out var exact)) return exact;
        foreach (var (pattern, template) in s_templates[language])
        {
            var match = pattern.Match(english);
            if (!match.Success) continue;
            var result = template.Replace("{0}", match.Groups[1].Value, StringComparison.Ordinal);
            return match.Groups.Count > 2 ? result.Replace("{1}", match.Groups[2].Value, StringComparison.Ordinal) : result;
        }
        return english;
    }

    /// <summary>
    /// The language a LANG argument asks for: "*" is the server's preferred one; otherwise the RFC 4647 §3.4 lookup,
    /// which tries the range as given and then with its last subtag dropped ("de-AT" finds "de"), case-insensitively.
    /// </summary>
    public static ResponseLanguage? Find(string range)
    {
        if (range == "*") return All[0];
        var candidate = range;
        while (candidate.Length > 0)
        {
            foreach (var language in All)
                if (string.Equals(language.Tag, candidate, StringComparison.OrdinalIgnoreCase)) return language;
            var dash = candidate.LastIndexOf('-');
            if (dash < 0) break;
            candidate = candidate[..dash];
        }
        return null;
    }
}
