using Restante.Fuzz;
using SharpFuzz;

// One target per parser; AFL++ feeds each input on standard input (see fuzz/run.sh).
var target = args.Length > 0 ? args[0] : "pop3";
Action<Stream> run = target switch
{
    "pop3" => Pop3SessionTarget.Run,
    "lmtp" => LmtpSessionTarget.Run,
    _ => throw new ArgumentException($"unknown fuzz target '{target}'"),
};

if (args.Length > 1 && args[1] == "--replay")
{
    // Replays files (a corpus, or a crash AFL++ found) without instrumentation, for debugging and regression checks.
    foreach (var file in args.Skip(2))
    {
        using var input = File.OpenRead(file);
        run(input);
    }
    return;
}

Fuzzer.OutOfProcess.Run(run);
