using System.Buffers;
using System.Text;
using Restante.Delivery;
using Restante.Protocol;

namespace Restante.Lmtp;

/// <summary>
/// Receives the lines of one DATA section (RFC 5321 §4.1.1.4) into a spool: removes the
/// dot-stuffing (§4.5.2), stores LF line ends, counts the size as sent (CRLF, RFC 1870), and keeps
/// reading to the final "." even after deciding to refuse, so the reply lines up with the client.
/// </summary>
internal sealed class DataReception(MessageSpool spool, long maxSize) : IDisposable
{
    private const int MaxMessageIdLength = 200;

    private bool _discarding;
    private bool _previousEndedWithCrlf = true;   // DATA's own line ended with CRLF
    private bool _inHeaders = true;

    public enum Step
    {
        NeedMoreData,
        /// <summary>The spool's buffer is full: await <see cref="MessageSpool.FlushAsync"/>, then continue.</summary>
        SpoolFull,
        Complete,
    }

    public MessageSpool Spool { get; } = spool;

    public DataProblem Problem { get; private set; }

    /// <summary>Octets received after unstuffing, CRLF line ends: the size RFC 1870 limits.</summary>
    public long Size { get; private set; }

    /// <summary>The Message-ID header, for the delivery log.</summary>
    public string? MessageId { get; private set; }

    public Step Consume(ref ReadOnlySequence<byte> buffer)
    {
        while (true)
        {
            if (_discarding)
            {
                if (!LineReader.TrySkipPastLineEnd(ref buffer)) return Step.NeedMoreData;
                _discarding = false;
                _previousEndedWithCrlf = true;
                continue;
            }
            // Once the message is refused nothing more is appended, so there is nothing to flush.
            if (Problem == DataProblem.None && Spool.Free <= LmtpLimits.MaxLine) return Step.SpoolFull;

            var status = DataLine.TryTake(ref buffer, LmtpLimits.MaxLine, out var line, out var crlf);
            if (status == LineStatus.NeedMoreData) return Step.NeedMoreData;
            if (status == LineStatus.TooLong)
            {
                // Read on to the end of the data; the whole message is refused there.
                if (Problem == DataProblem.None) Problem = DataProblem.LineTooLong;
                _discarding = true;
                continue;
            }
            if (crlf && _previousEndedWithCrlf && DataLine.IsTerminator(line)) return Step.Complete;
            _previousEndedWithCrlf = crlf;

            var content = DataLine.Unstuff(line);
            Size += content.Length + 2;
            if (_inHeaders) NoteHeader(content);
            if (Problem != DataProblem.None) continue;
            if (maxSize > 0 && Size > maxSize)
            {
                Problem = DataProblem.TooBig;
                continue;
            }
            Spool.AppendLine(content);
        }
    }

    /// <summary>Writing the spool failed: read on to the end, then refuse with a temporary error.</summary>
    public void SpoolFailed()
    {
        if (Problem == DataProblem.None) Problem = DataProblem.SpoolFailed;
    }

    private void NoteHeader(in ReadOnlySequence<byte> line)
    {
        if (line.IsEmpty)
        {
            _inHeaders = false;
            return;
        }
        if (MessageId is not null || line.Length < 11) return;
        Span<byte> name = stackalloc byte[11];
        line.Slice(0, 11).CopyTo(name);
        if (!Ascii.EqualsIgnoreCase(name, "Message-ID:"u8)) return;
        var value = line.Slice(11);
        if (value.Length > MaxMessageIdLength) value = value.Slice(0, MaxMessageIdLength);
        MessageId = PrintableText.From(value.ToArray(), MaxMessageIdLength).Trim();
    }

    public void Dispose() => Spool.Dispose();
}
