using Restante.Lmtp.Commands;
using Restante.Protocol;

namespace Restante.Lmtp;

/// <summary>The command handlers, indexed by verb.</summary>
internal static class SmtpCommands
{
    private static readonly ISmtpCommand[] s_byVerb = Build(
        new HelloCommand(SmtpVerb.Lhlo), new HelloCommand(SmtpVerb.Ehlo), new HelloCommand(SmtpVerb.Helo),
        new MailCommand(), new RcptCommand(), new DataCommand(), new RsetCommand(), new NoopCommand(),
        new QuitCommand(), new VrfyCommand(), new HelpCommand());

    public static ISmtpCommand For(SmtpVerb verb) => s_byVerb[(int)verb];

    private static ISmtpCommand[] Build(params ISmtpCommand[] commands)
    {
        var table = new ISmtpCommand[Enum.GetValues<SmtpVerb>().Length];
        foreach (var command in commands) table[(int)command.Verb] = command;
        for (var i = 1; i < table.Length; i++)
            if (table[i] is null) throw new InvalidOperationException($"No handler for {(SmtpVerb)i}.");
        return table;
    }
}
