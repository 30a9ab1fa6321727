using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using Restante.Admin;

namespace Restante.Cli;

/// <summary>
/// <c>restante sessions | kick | uidl | throttle list|clear</c>: ask a running server through its control socket
/// (DATA/restante.ctl, or Admin:Socket). Run them as the server's user or as root. Exit codes: 0 done, 1 the server
/// refused or failed the request, 69 no server listens there (EX_UNAVAILABLE), 77 not allowed to use the socket (EX_NOPERM).
/// </summary>
internal static class ControlCommands
{
    private const int Unavailable = 69;
    private const int NoPermission = 77;

    /// <summary>The options every control command takes; one set per command, as an option belongs to the command that shows it.</summary>
    private sealed class Target
    {
        public Option<string?> Socket { get; } = new("--socket") { Description = "The control socket. Default: Admin:Socket, else DATA/restante.ctl" };

        public Option<FileInfo?> Config { get; } = new("--config") { Description = "The server's JSON configuration file (DataDirectory, Admin:Socket)" };

        public Option<bool> Json { get; } = new("--json") { Description = "Print the server's JSON reply as it is" };

        public void AddTo(Command command)
        {
            command.Options.Add(Socket);
            command.Options.Add(Config);
            command.Options.Add(Json);
        }
    }

    public static IEnumerable<Command> Create(Option<string> data)
    {
        yield return CreateSessions(data);
        yield return CreateKick(data);
        yield return CreateUidl(data);
        yield return CreateThrottle(data);
    }

    private static Command CreateSessions(Option<string> data)
    {
        var target = new Target();
        var command = new Command("sessions", "List the POP3 sessions of the running server: id, user, peer, since, state, TLS, bytes sent");
        target.AddTo(command);
        command.SetAction((parse, ct) => RunAsync(parse, data, target, new AdminRequest { Command = "sessions" }, reply =>
        {
            var rows = reply.Sessions ?? [];
            if (rows.Count == 0)
            {
                Console.WriteLine("No sessions.");
                return;
            }
            PrintTable(["ID", "USER", "PEER", "SINCE", "STATE", "TLS", "BYTES"], rows.Select(s => new[]
            {
                s.Id.ToString(CultureInfo.InvariantCulture), s.User ?? "-", s.Peer ?? "-", Time(s.Since), s.State, s.Tls ? "yes" : "no",
                s.BytesSent.ToString(CultureInfo.InvariantCulture),
            }));
        }, ct));
        return command;
    }

    private static Command CreateKick(Option<string> data)
    {
        var target = new Target();
        var who = new Argument<string>("USER|SESSION-ID") { Description = "A user name (all their sessions) or a session id from `restante sessions`" };
        var asUser = new Option<bool>("--user") { Description = "Take the argument as a user name even if it is all digits" };
        var command = new Command("kick", "End a user's sessions (or one session) without deleting anything: only the client's QUIT deletes (RFC 1939)");
        command.Arguments.Add(who);
        command.Options.Add(asUser);
        target.AddTo(command);
        command.SetAction((parse, ct) =>
        {
            var value = parse.GetValue(who)!;
            // All digits: a session id (session ids are numbers, user names rarely are); --user says otherwise.
            var request = !parse.GetValue(asUser) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                ? new AdminRequest { Command = "kick", Session = id }
                : new AdminRequest { Command = "kick", User = value };
            return RunAsync(parse, data, target, request, reply =>
            {
                foreach (var s in reply.Kicked ?? [])
                    Console.WriteLine($"Kicked session {s.Id} ({s.User ?? "not logged in"} from {s.Peer ?? "-"}); nothing was deleted.");
            }, ct);
        });
        return command;
    }

    private static Command CreateUidl(Option<string> data)
    {
        var target = new Target();
        var user = new Argument<string>("USER") { Description = "The user whose mailbox to list" };
        var command = new Command("uidl", "List a mailbox as a login now would see it (message number, unique-id, size), without locking it");
        command.Arguments.Add(user);
        target.AddTo(command);
        command.SetAction((parse, ct) => RunAsync(parse, data, target, new AdminRequest { Command = "uidl", User = parse.GetValue(user) }, reply =>
        {
            var rows = reply.Messages ?? [];
            if (rows.Count == 0)
            {
                Console.WriteLine($"No messages for {reply.User}.");
                return;
            }
            PrintTable(["MSG", "UIDL", "SIZE"], rows.Select(m => new[]
            {
                m.Number.ToString(CultureInfo.InvariantCulture), m.Uid, m.Size.ToString(CultureInfo.InvariantCulture),
            }));
        }, ct));
        return command;
    }

    private static Command CreateThrottle(Option<string> data)
    {
        var throttle = new Command("throttle", "Show or clear the failed-login throttle (LoginThrottle) of the running server");

        var listTarget = new Target();
        var list = new Command("list", "Addresses with failed logins in the window, and blocks in force");
        listTarget.AddTo(list);
        list.SetAction((parse, ct) => RunAsync(parse, data, listTarget, new AdminRequest { Command = "throttle-list" }, reply =>
        {
            var rows = reply.Throttle ?? [];
            if (rows.Count == 0)
            {
                Console.WriteLine("No address has failed logins.");
                return;
            }
            PrintTable(["ADDRESS", "FAILURES", "BLOCKED UNTIL"], rows.Select(t => new[]
            {
                t.Address, t.Failures.ToString(CultureInfo.InvariantCulture), t.BlockedUntil is { } until ? Time(until) : "-",
            }));
        }, ct));

        var clearTarget = new Target();
        var address = new Argument<string>("ADDR") { Description = "The address (IPv6: any address of the blocked network)" };
        var clear = new Command("clear", "Forget an address's failures and lift its block at once");
        clear.Arguments.Add(address);
        clearTarget.AddTo(clear);
        clear.SetAction((parse, ct) => RunAsync(parse, data, clearTarget, new AdminRequest { Command = "throttle-clear", Address = parse.GetValue(address) }, reply =>
            Console.WriteLine(reply.Cleared == true ? $"Cleared {parse.GetValue(address)}." : $"Nothing was recorded for {parse.GetValue(address)}."), ct));

        throttle.Subcommands.Add(list);
        throttle.Subcommands.Add(clear);
        return throttle;
    }

    private static async Task<int> RunAsync(ParseResult parse, Option<string> data, Target target, AdminRequest request, Action<AdminReply> print,
        CancellationToken cancellationToken)
    {
        if (await SocketPathAsync(parse, data, target) is not { } socket) return 1;
        if (socket.Length == 0)
        {
            await Console.Error.WriteLineAsync("The control socket is turned off in the configuration (Admin:Socket is \"\").");
            return Unavailable;
        }
        AdminReply reply;
        string line;
        try
        {
            (reply, line) = await AdminClient.SendAsync(socket, request, cancellationToken);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AccessDenied)
        {
            await Console.Error.WriteLineAsync($"Permission denied on {socket}: run this as the server's user or as root.");
            return NoPermission;
        }
        catch (SocketException ex)
        {
            var why = File.Exists(socket) ? ex.Message : "no such socket";
            await Console.Error.WriteLineAsync($"No server answers on {socket} ({why}). Is it running? Give its --data or --socket.");
            return Unavailable;
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"{socket}: {ex.Message}");
            return Unavailable;
        }
        if (parse.GetValue(target.Json))
            Console.WriteLine(line);
        else if (reply.Ok)
            print(reply);
        if (reply.Ok) return 0;
        if (!parse.GetValue(target.Json)) await Console.Error.WriteLineAsync(reply.Error);
        return reply.Error?.StartsWith("Permission denied", StringComparison.Ordinal) == true ? NoPermission : 1;
    }

    /// <summary>
    /// --socket, else Admin:Socket, else DataDirectory/restante.ctl; from --config, RESTANTE_* and --data as `serve` reads
    /// them. Null when the configuration cannot be read (said on stderr).
    /// </summary>
    private static async Task<string?> SocketPathAsync(ParseResult parse, Option<string> data, Target target)
    {
        // A --config that is not there is the one line every command gives, even where --socket makes it unneeded: the
        // operator named a file, and a typo in its name should not pass unnoticed.
        if (ConfigFile.IsMissing(parse.GetValue(target.Config), Console.Error)) return null;
        if (parse.GetValue(target.Socket) is { } given) return given;
        var overrides = new Dictionary<string, string?>();
        if (parse.GetValue(data) is { } directory) overrides["DataDirectory"] = directory;
        var built = await CommandConfiguration.BuildAsync(CommandConfiguration.NameOf(parse), parse.GetValue(target.Config), overrides, Console.Error);
        if (built is null) return null;
        return built["Admin:Socket"] ?? Path.Combine(built["DataDirectory"] ?? "data", AdminOptions.DefaultFileName);
    }

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static void PrintTable(string[] header, IEnumerable<string[]> rows)
    {
        var all = new List<string[]> { header };
        all.AddRange(rows);
        var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        foreach (var row in all)
            Console.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
    }
}
