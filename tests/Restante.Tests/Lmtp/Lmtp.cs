using System.Text;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Lmtp;

/// <summary>Small steps of an LMTP/SMTP conversation over a <see cref="Transcript"/>.</summary>
internal static class Lmtp
{
    public const string Message = "From: sender@example.org\r\nSubject: hello\r\nMessage-ID: <m1@example.org>\r\n\r\nbody line\r\n";

    /// <summary>Reads one (possibly multi-line) reply: lines until one whose fourth character is a space.</summary>
    public static async Task<List<string>> ReadReplyAsync(Transcript c)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await c.ReadLineAsync();
            Assert.NotNull(line);
            lines.Add(line);
            if (line.Length < 4 || line[3] == ' ') return lines;
        }
    }

    /// <summary>Connects to the LMTP port and says LHLO; returns the LHLO reply lines.</summary>
    public static async Task<(Transcript Client, List<string> Capabilities)> GreetAsync(TestServer server)
    {
        var c = await server.ConnectLmtpAsync();
        await c.ExpectAsync("220 ");
        await c.SendAsync("LHLO client.example");
        return (c, await ReadReplyAsync(c));
    }

    /// <summary>The message as the client sends it after 354: dot-stuffed, CRLF, then the final ".".</summary>
    public static string Data(string message)
    {
        var lines = message.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var text = new StringBuilder();
        for (var i = 0; i < lines.Length; i++)
        {
            if (i == lines.Length - 1 && lines[i].Length == 0) break;
            if (lines[i].StartsWith('.')) text.Append('.');
            text.Append(lines[i]).Append("\r\n");
        }
        return text.Append(".\r\n").ToString();
    }

    /// <summary>MAIL, one RCPT per recipient (each must be accepted), DATA and the message; the caller reads the final replies.</summary>
    public static async Task SendMessageAsync(Transcript c, string sender, string message, params string[] recipients)
    {
        await c.SendAsync($"MAIL FROM:<{sender}>");
        await c.ExpectAsync("250 2.1.0");
        foreach (var recipient in recipients)
        {
            await c.SendAsync($"RCPT TO:<{recipient}>");
            await c.ExpectAsync("250 2.1.5");
        }
        await c.SendAsync("DATA");
        await c.ExpectAsync("354 ");
        await c.SendRawAsync(Encoding.Latin1.GetBytes(Data(message)));
    }

    public static string[] Files(string directory) => Directory.Exists(directory) ? Directory.GetFiles(directory) : [];
}
