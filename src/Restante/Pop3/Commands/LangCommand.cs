using Restante.Pop3.Language;
using Restante.Protocol;

namespace Restante.Pop3.Commands;

/// <summary>
/// RFC 6856 §3 LANG, in both states. Without an argument it lists the languages ("a language listing": the tag, a
/// space, the language's name in itself). With a language range it switches every later human-readable text, this
/// answer's included: "+OK", the tag selected, a space, then the text in that language, in UTF-8. "*" picks the
/// server's preferred language, which does not depend on the user, so LANG * reveals nothing about who is logging in
/// (§7). A range that matches nothing is answered -ERR in the language in use, which stays.
/// <code>
/// C: LANG de
/// S: +OK de Sprache geändert.
/// </code>
/// </summary>
internal sealed class LangCommand : IPop3Command
{
    public Pop3Verb Verb => Pop3Verb.Lang;

    public ValueTask<CommandOutcome> ExecuteAsync(Pop3Session session, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        if (arguments.IsEmpty)
        {
            session.WriteOk("Language listing follows:");
            // RFC 6856 §3: each language's name in itself, in UTF-8, whatever language the session uses.
            foreach (var language in ResponseTexts.All)
                Pop3Reply.Line(session.Output, $"{language.Tag} {language.Description}", utf8: true);
            Pop3Reply.End(session.Output);
            return ValueTask.FromResult(CommandOutcome.Continue);
        }
        if (!PrintableText.TryDecodeAscii(arguments.Span, out var range) || ResponseTexts.Find(range) is not { } chosen)
            return ValueTask.FromResult(session.Reject("Unknown language."));
        session.Language = chosen;
        // The tag goes before the text even for English, so a client can read which language it got.
        Pop3Reply.Ok(session.Output, $"{chosen.Tag} {ResponseTexts.Translate(chosen, "Language changed.")}", utf8: true);
        return ValueTask.FromResult(CommandOutcome.Continue);
    }
}
