using System.Buffers;
using Restante.Protocol;
using Restante.Storage;
using Restante.Storage.Maildir;

namespace Restante.Pop3.Commands;

/// <summary>
/// Streams a message for RETR and TOP in large pooled chunks, waiting for the client after each one. A file already in
/// wire form goes out with sendfile on a plain connection (<see cref="ZeroCopyRetr"/>); everything else through
/// <see cref="MessageWriter"/>.
/// </summary>
internal static class MessageSender
{
    // One read for a typical message, four for 1 MB: each chunk is read, converted and flushed as one block. A little
    // under 256 KiB, so the writer's block for a converted chunk (MessageWriter.MaxOutput: twice the chunk and a little)
    // is a 512 KiB array from the pool, not a 1 MiB one.
    internal const int ChunkSize = 256 * 1024 - 256;

    /// <summary>Sends with a descriptor slot held from the open to the last flush (or the send's end however it ends).</summary>
    public static async ValueTask<CommandOutcome> SendAsync(Pop3Session session, int index, string okText, long? bodyLineLimit, CancellationToken cancellationToken)
    {
        using var descriptors = await session.Server.CommandDescriptors.EnterAsync(bodyLineLimit is null ? "RETR" : "TOP", cancellationToken).ConfigureAwait(false);
        if (descriptors is null) return session.RejectBusy("Server busy, try again later.");
        using var bound = session.BoundSend(session.Transaction!.SizeOf(index));   // the slot is not held for ever by a slow reader
        return await SendHeldAsync(session, index, okText, bodyLineLimit, cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask<CommandOutcome> SendHeldAsync(Pop3Session session, int index, string okText, long? bodyLineLimit, CancellationToken cancellationToken)
    {
        var drop = session.Transaction!;
        Stream message;
        try
        {
            message = await drop.Store.OpenMessageAsync(index, cancellationToken).ConfigureAwait(false);
            if (session.Server.Hooks is { } hooks) message = hooks.OnRetrieve(session, index + 1, message);
        }
        catch (Exception ex) when (ex is MailStoreException or IOException or UnauthorizedAccessException)
        {
            return Unreadable(session, ex);
        }

        var metrics = session.Server.Metrics;
        var startedAt = bodyLineLimit is null && metrics.TimesRetrieval ? session.Server.TimeProvider.GetTimestamp() : 0;
        if (ZeroCopyRetr.Applies(session, message, bodyLineLimit, out var socket, out var wire))
        {
            // A wire-form file has an ASCII header (WireFormConverter), so no session needs it downgraded.
            ZeroCopyRetr.Result result;
            try
            {
                result = await ZeroCopyRetr.SendAsync(session, socket, wire, okText).ConfigureAwait(false);
            }
            finally
            {
                await message.DisposeAsync().ConfigureAwait(false);
            }
            if (result == ZeroCopyRetr.Result.Closed) return CommandOutcome.Close;
            session.BytesSent += wire.Length;
            metrics.Sent(wire.Length);
            return Retrieved(session, index, startedAt);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            // The first chunk is read before anything is written: a message that cannot be read is then still an -ERR.
            var pending = -1;
            IOException? failure = null;   // a read that failed after part of a chunk came in
            if (!session.Utf8Mode)
            {
                // RFC 6856 §2.1: no raw UTF-8 header for a client that did not send UTF8 (see DowngradedMessage). A file's
                // first chunk usually settles it: then that chunk is sent as read, not read twice.
                var settled = false;
                if (IsFile(message))
                {
                    try
                    {
                        (pending, failure) = await FillAsync(message, buffer, cancellationToken).ConfigureAwait(false);
                    }
                    catch (IOException ex)
                    {
                        return Unreadable(session, ex);
                    }
                    settled = Utf8.DowngradedMessage.IsUnchanged(buffer.AsSpan(0, pending));
                    if (!settled)
                    {
                        message.Seek(0, SeekOrigin.Begin);
                        pending = -1;
                        failure = null;
                    }
                }
                if (!settled)
                {
                    Utf8.DowngradedMessage.Prepared prepared;
                    try
                    {
                        prepared = await Utf8.DowngradedMessage.PrepareAsync(message, cancellationToken).ConfigureAwait(false);
                    }
                    catch (IOException ex)
                    {
                        return Unreadable(session, ex);
                    }
                    if (prepared.Message is null) return session.Reject("This message needs UTF-8 mode: send UTF8 first.", ResponseCode.Utf8);
                    message = prepared.Message;   // disposing it disposes the file it reads from
                    // RETR's count is the octets that follow (RFC 1939 §7 example "+OK 120 octets"); LIST keeps the stored size.
                    if (prepared.SizeChange != 0 && bodyLineLimit is null)
                        okText = $"{drop.SizeOf(index) + prepared.SizeChange} octets";
                }
            }
            if (pending < 0)
            {
                try
                {
                    (pending, failure) = await FillAsync(message, buffer, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    return Unreadable(session, ex);
                }
            }

            var output = session.Output;
            // The +OK line, the converted chunk and, when the message ended inside it, the final "." go into one block of
            // the writer: a message that fits a chunk reaches the socket in one write, not three (the status line and the
            // "." each as a packet of their own cost a send and a wake-up of the client apiece).
            output.GetSpan(StatusLineRoom + MessageWriter.MaxOutput(pending));
            if (bodyLineLimit is not null) session.WriteOk(okText);
            else Pop3Reply.Ok(output, okText);
            var writer = new MessageWriter(bodyLineLimit);
            while (true)
            {
                // A chunk not filled to the brim is the end of the message (FillAsync stops only at the end or when full).
                var ended = pending < ChunkSize && failure is null;
                if (pending > 0)
                {
                    writer.Write(buffer.AsSpan(0, pending), output);
                    session.BytesSent += pending;
                    metrics.Sent(pending);
                }
                if (failure is not null)
                {
                    // What was read before the failure goes out, then the session hangs up without the final ".".
                    Pop3Log.StoreFailure(session.Logger, failure, session.User!);
                    await session.FlushAsync().ConfigureAwait(false);
                    return ReadFailed(session);
                }
                if (ended || writer.Finished)
                {
                    writer.Complete(output);   // flushed by the session with whatever else this batch wrote
                    break;
                }
                if (!await session.FlushAsync().ConfigureAwait(false)) return CommandOutcome.Close;
                try
                {
                    (pending, failure) = await FillAsync(message, buffer, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    Pop3Log.StoreFailure(session.Logger, ex, session.User!);
                    return ReadFailed(session);
                }
                output.GetSpan(MessageWriter.MaxOutput(pending));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            await message.DisposeAsync().ConfigureAwait(false);
        }
        return bodyLineLimit is null ? Retrieved(session, index, startedAt) : CommandOutcome.Continue;
    }

    // Room asked for the status line ahead of the message, so both land in one block (a longer one still works).
    private const int StatusLineRoom = 256;

    /// <summary>
    /// Reads until <see cref="ChunkSize"/> octets are in <paramref name="buffer"/> or the message ends, so a short chunk
    /// means the end: the last chunk then carries the final "." and the client never waits for a write of its own.
    /// A read that fails before anything came in throws; one that fails later returns what came in, and the failure.
    /// </summary>
    private static async ValueTask<(int Length, IOException? Failure)> FillAsync(Stream message, byte[] buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        try
        {
            while (filled < ChunkSize)
            {
                var read = IsFile(message)
                    ? message.Read(buffer, filled, ChunkSize - filled)
                    : await message.ReadAsync(buffer.AsMemory(filled, ChunkSize - filled), cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                filled += read;
            }
        }
        catch (IOException ex) when (filled > 0)
        {
            return (filled, ex);
        }
        return (filled, null);
    }

    /// <summary>The message could not be read before anything of it was sent: logged, and -ERR [SYS/TEMP] for the client.</summary>
    private static CommandOutcome Unreadable(Pop3Session session, Exception ex)
    {
        Pop3Log.StoreFailure(session.Logger, ex, session.User!);
        return session.Reject("Message cannot be read right now.", ResponseCode.SysTemp);
    }

    internal static CommandOutcome ReadFailed(Pop3Session session)
    {
        // Half a message has gone out after +OK: the only honest thing left is to hang up,
        // so the client does not take a truncated message for a whole one.
        session.SetEndReason("message read failed");
        return CommandOutcome.Close;
    }

    // A file in the page cache reads in microseconds; the async path would hop to the thread pool and back for
    // every chunk, which costs more than the read itself.
    private static bool IsFile(Stream message) => message is MessageFileStream or FileStream or WireFormFile;

    private static CommandOutcome Retrieved(Pop3Session session, int index, long startedAt)
    {
        session.RetrievedCount++;
        session.Transaction!.MarkRetrieved(index);
        if (startedAt != 0) session.Server.Metrics.Retrieved(session.Server.TimeProvider.GetElapsedTime(startedAt));
        return CommandOutcome.Continue;
    }
}
