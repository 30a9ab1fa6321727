namespace Restante.LoadGen;

/// <summary>
/// memory: one sample of the server's memory (RSS, PSS, private; descendants included), as a JSON
/// line. compare.sh takes it right after a server starts, with --metric startup_ms=… it measured.
/// </summary>
internal static class MemoryMode
{
    public static int Run(Options o)
    {
        if (o.ServerPids.Count == 0) throw new ArgumentException("memory needs --server-pid PID");
        var m = ServerMemory.Read(o.ServerPids);
        var r = new Result(o);
        r.Set("processes", m.Processes);
        r.Set("rss_kb", m.RssKb);
        r.Set("pss_kb", m.PssKb);
        r.Set("private_kb", m.PrivateKb);
        r.Say($"server ({m.Processes} processes): RSS {m.RssKb / 1024.0:F1} MB, PSS {m.PssKb / 1024.0:F1} MB, private {m.PrivateKb / 1024.0:F1} MB");
        r.Print();
        return m.Processes > 0 ? 0 : 1;
    }
}
