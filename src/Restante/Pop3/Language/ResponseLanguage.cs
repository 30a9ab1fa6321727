namespace Restante.Pop3.Language;

/// <summary>A language of response texts (RFC 6856 §3): its tag, its name in itself, and its texts.</summary>
internal sealed class ResponseLanguage(string tag, string description, IReadOnlyDictionary<string, string> texts)
{
    public string Tag { get; } = tag;

    /// <summary>The language listing's description, "in the language itself" (RFC 6856 §3.2).</summary>
    public string Description { get; } = description;

    /// <summary>English: the texts as written in the code, sent as ASCII exactly as before LANG existed.</summary>
    public bool IsDefault => Texts.Count == 0;

    /// <summary>English text to this language; the key is the English template with {0}, {1} for the variable parts.</summary>
    public IReadOnlyDictionary<string, string> Texts { get; } = texts;
}
