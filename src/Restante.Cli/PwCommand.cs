using System.CommandLine;
using System.Text;
using Restante.Auth;

namespace Restante.Cli;

/// <summary>
/// <c>restante pw [-s SCHEME]</c>: prints "{SCHEME}hash" for a password, like <c>doveadm pw</c>, to paste into a
/// passwd file by hand. Also home to the password reading that the <c>user</c> commands share.
/// </summary>
internal static class PwCommand
{
    public static Command Create()
    {
        var schemeOption = SchemeOption();
        var stdinOption = PasswordStdinOption();
        var command = new Command("pw", "Hash a password and print it as {SCHEME}hash for a passwd file");
        command.Options.Add(schemeOption);
        command.Options.Add(stdinOption);
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            if (!TryGetScheme(parseResult.GetValue(schemeOption), error, out var scheme))
                return 1;
            // Piped input is read as doveadm pw does, so `echo pw | restante pw` works without the flag.
            var fromStdin = parseResult.GetValue(stdinOption) || Console.IsInputRedirected;
            var password = ReadNewPassword(fromStdin, error);
            if (password is null)
                return 1;
            output.WriteLine($"{{{scheme.Name}}}{scheme.Hash(Precis.PasswordForStorage(password))}");
            return 0;
        });
        return command;
    }

    internal static Option<string> SchemeOption() => new("--scheme", "-s")
    {
        Description = $"Password scheme: {string.Join(", ", PasswordSchemes.Names)} (APOP needs PLAIN; CRAM-MD5 needs PLAIN or CRAM-MD5; SCRAM needs PLAIN or the matching SCRAM-*)",
        DefaultValueFactory = _ => PasswordSchemes.Default.Name,
    };

    internal static Option<bool> PasswordStdinOption() => new("--password-stdin")
    {
        Description = "Read the password from the first line of standard input instead of prompting",
    };

    internal static bool TryGetScheme(string? name, TextWriter error, out IPasswordScheme scheme)
    {
        if (PasswordSchemes.TryGet(name ?? PasswordSchemes.Default.Name, out scheme))
            return true;
        error.WriteLine($"error: unknown password scheme {name}; use one of {string.Join(", ", PasswordSchemes.Names)}");
        return false;
    }

    /// <summary>
    /// A new password from the first line of stdin, or typed twice at a prompt without echo. Null (after telling
    /// the user why) when there is none, the two entries differ, or there is no terminal to prompt on.
    /// Prompts go to the error stream so that stdout carries only the result.
    /// </summary>
    /// <summary>
    /// The first line of <paramref name="input"/> without its line end, LF or CRLF; null at once at the end of input.
    /// Not <see cref="TextReader.ReadLine"/>, which also ends a line at a lone CR and so would cut a password there.
    /// </summary>
    internal static string? ReadFirstLine(TextReader input)
    {
        var line = new System.Text.StringBuilder();
        while (true)
        {
            var c = input.Read();
            if (c < 0)
                return line.Length == 0 ? null : line.ToString();
            if (c == '\n')
                break;
            line.Append((char)c);
        }
        if (line.Length > 0 && line[^1] == '\r')
            line.Length--;
        return line.ToString();
    }

    internal static string? ReadNewPassword(bool fromStdin, TextWriter error)
    {
        if (fromStdin)
        {
            var line = ReadFirstLine(Console.In);
            if (string.IsNullOrEmpty(line))
            {
                error.WriteLine("error: no password on standard input");
                return null;
            }
            return line;
        }
        if (Console.IsInputRedirected)
        {
            error.WriteLine("error: standard input is not a terminal; use --password-stdin");
            return null;
        }
        var first = ReadHidden("Enter new password: ", error);
        if (first.Length == 0)
        {
            error.WriteLine("error: empty password");
            return null;
        }
        var second = ReadHidden("Retype new password: ", error);
        if (first != second)
        {
            error.WriteLine("error: passwords don't match");
            return null;
        }
        return first;
    }

    private static string ReadHidden(string prompt, TextWriter error)
    {
        error.Write(prompt);
        error.Flush();
        var typed = new StringBuilder();
        while (true)
        {
            // intercept: the key is not echoed, which is the point.
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
                break;
            if (key.Key == ConsoleKey.Backspace)
            {
                if (typed.Length > 0)
                    typed.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }
        error.WriteLine();
        return typed.ToString();
    }
}
