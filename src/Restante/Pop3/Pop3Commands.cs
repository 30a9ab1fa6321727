using Restante.Pop3.Commands;
using Restante.Protocol;

namespace Restante.Pop3;

/// <summary>The command handlers, indexed by verb. Handlers are stateless; the session holds the state.</summary>
internal static class Pop3Commands
{
    private static readonly IPop3Command[] s_byVerb = Build(
        new UserCommand(), new PassCommand(), new ApopCommand(), new CapaCommand(), new QuitCommand(),
        new StatCommand(), new ListCommand(), new RetrCommand(), new DeleCommand(), new NoopCommand(),
        new RsetCommand(), new TopCommand(), new UidlCommand(), new AuthCommand(), new StlsCommand(),
        new LastCommand(), new Utf8Command(), new LangCommand());

    public static IPop3Command For(Pop3Verb verb) => s_byVerb[(int)verb];

    private static IPop3Command[] Build(params IPop3Command[] commands)
    {
        var table = new IPop3Command[Enum.GetValues<Pop3Verb>().Length];
        foreach (var command in commands) table[(int)command.Verb] = command;
        for (var i = 1; i < table.Length; i++)
            if (table[i] is null) throw new InvalidOperationException($"No handler for {(Pop3Verb)i}.");
        return table;
    }
}
