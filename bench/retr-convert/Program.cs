using System.Buffers;
using System.Diagnostics;
using Micro;
using Restante.Protocol;

// bench/retr-convert [MAILDIR/new]: CPU per message of MessageWriter (RETR) against the algorithm before (OldWriter.cs), interleaved.
var dir = args.Length > 0 ? args[0] : "/tmp/bench-cache-retr/base/mail/user0000/new";
var files = Directory.GetFiles(dir).Take(20).Select(File.ReadAllBytes).ToArray();
var total = files.Sum(f => (long)f.Length);
var output = new ArrayBufferWriter<byte>(1 << 20);
var o2 = new ArrayBufferWriter<byte>(1 << 20);
foreach (var f in files)
{
    output.ResetWrittenCount(); o2.ResetWrittenCount();
    var a = new MessageWriter(); a.Write(f, output); a.Complete(output);
    var b = new OldWriter(); b.Write(f, o2); b.Complete(o2);
    if (!output.WrittenSpan.SequenceEqual(o2.WrittenSpan)) throw new Exception("differ");
}
long RunNew(int reps)
{
    long n = 0;
    for (var r = 0; r < reps; r++)
        foreach (var f in files)
        {
            output.ResetWrittenCount();
            var w = new MessageWriter();
            w.Write(f, output);
            w.Complete(output);
            n += output.WrittenCount;
        }
    return n;
}
long RunOld(int reps)
{
    long n = 0;
    for (var r = 0; r < reps; r++)
        foreach (var f in files)
        {
            output.ResetWrittenCount();
            var w = new OldWriter();
            w.Write(f, output);
            w.Complete(output);
            n += output.WrittenCount;
        }
    return n;
}
double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalMicroseconds;
RunNew(3000); RunOld(3000);
for (var round = 0; round < 6; round++)
{
    var c0 = Cpu(); RunOld(500); var c1 = Cpu(); RunNew(500); var c2 = Cpu();
    var k0 = Cpu();
    for (var r = 0; r < 500; r++) foreach (var f in files) { output.ResetWrittenCount(); output.Write(f); }
    var k1 = Cpu();
    double per(double d) => d / (500.0 * files.Length);
    Console.WriteLine($"old {per(c1 - c0):F2} µs cpu/message, new {per(c2 - c1):F2}, memcpy {per(k1 - k0):F2} ({total / files.Length} B avg)");
}
