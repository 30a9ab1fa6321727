using System.Buffers;
using Restante.Protocol;
using Restante.Storage;

namespace Restante.Pop3.Commands;

/// <summary>
/// Streams a message for RETR and TOP in large pooled chunks, waiting for the client after each one. A file already in
/// wire form goes out with sendfile on a plain connection (<see cref="ZeroCopyRetr"/>); everything else through
/// <see cref="MessageWriter"/>.
/// </summary>
internal static class MessageSender
{
    // One read for a typical message, four for 1 MB: each chunk is read, converted and flushed as one block.
    private const int ChunkSize = 256 * 1024;

    /// <summary>Sends with a descriptor slot held from the open to the last flush (or the send's end however it ends).</summary>
    public static async ValueTask<CommandOutcome> SendAsync(Pop3Session session, int index, string okText, long? bodyLineLimit, CancellationToken cancellationToken)
    {
        using var descriptors = await session.Server.CommandDescriptors.EnterAsync(bodyLineLimit is null ? "RETR" : "TOP", cancellationToken).ConfigureAwait(false);
        if (descriptors is null) return session.Reject("Server busy, try again later.", ResponseCode.SysTemp);
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
            Pop3Log.StoreFailure(session.Logger, ex, session.User!);
            return session.Reject("Message cannot be read right now.", ResponseCode.SysTemp);
        }

        var metrics = session.Server.Metrics;
        var startedAt = bodyLineLimit is null && metrics.TimesRetrieval ? session.Server.TimeProvider.GetTimestamp() : 0;
        var okWritten = false;
        if (ZeroCopyRetr.Applies(session, message, bodyLineLimit, out var socket, out var wire))
        {
            // A wire-form file has an ASCII header (WireFormConverter), so no session needs it downgraded.
            ZeroCopyRetr.Result result;
            try
            {
                result = await ZeroCopyRetr.SendAsync(session, socket, wire, okText).ConfigureAwait(false);
            }
            catch
            {
                await message.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            if (result != ZeroCopyRetr.Result.NotSent)
            {
                await message.DisposeAsync().ConfigureAwait(false);
                if (result == ZeroCopyRetr.Result.Closed) return CommandOutcome.Close;
                session.BytesSent += wire.Length;
                metrics.Sent(wire.Length);
                return Retrieved(session, index, startedAt);
            }
            okWritten = true;   // and the file is still at its start: copy it instead
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            var pending = 0;
            if (!session.Utf8Mode && !okWritten)
            {
                // RFC 6856 §2.1: no raw UTF-8 header for a client that did not send UTF8 (see DowngradedMessage). A file's
                // first chunk usually settles it: then that chunk is sent as read, not read twice.
                var settled = false;
                if (IsFile(message))
                {
                    try
                    {
                        pending = message.Read(buffer, 0, ChunkSize);
                    }
                    catch (IOException ex)
                    {
                        Pop3Log.StoreFailure(session.Logger, ex, session.User!);
                        return session.Reject("Message cannot be read right now.", ResponseCode.SysTemp);
                    }
                    settled = Utf8.DowngradedMessage.IsUnchanged(buffer.AsSpan(0, pending));
                    if (!settled)
                    {
                        message.Seek(0, SeekOrigin.Begin);
                        pending = 0;
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
                        Pop3Log.StoreFailure(session.Logger, ex, session.User!);
                        return session.Reject("Message cannot be read right now.", ResponseCode.SysTemp);
                    }
                    if (prepared.Message is null) return session.Reject("This message needs UTF-8 mode: send UTF8 first.", ResponseCode.Utf8);
                    message = prepared.Message;   // disposing it disposes the file it reads from
                    // RETR's count is the octets that follow (RFC 1939 §7 example "+OK 120 octets"); LIST keeps the stored size.
                    if (prepared.SizeChange != 0 && bodyLineLimit is null)
                        okText = $"{drop.SizeOf(index) + prepared.SizeChange} octets";
                }
            }

            var output = session.Output;
            if (bodyLineLimit is not null) session.WriteOk(okText);
            else if (!okWritten) Pop3Reply.Ok(output, okText);
            var writer = new MessageWriter(bodyLineLimit);
            while (!writer.Finished)
            {
                var read = pending;
                pending = 0;
                if (read == 0)
                {
                    try
                    {
                        read = IsFile(message)
                            ? message.Read(buffer, 0, ChunkSize)
                            : await message.ReadAsync(buffer.AsMemory(0, ChunkSize), cancellationToken).ConfigureAwait(false);
                    }
                    catch (IOException ex)
                    {
                        // Half a message has gone out after +OK: the only honest thing left is to hang up,
                        // so the client does not take a truncated message for a whole one.
                        Pop3Log.StoreFailure(session.Logger, ex, session.User!);
                        session.SetEndReason("message read failed");
                        return CommandOutcome.Close;
                    }
                }
                if (read == 0) break;
                writer.Write(buffer.AsSpan(0, read), output);
                session.BytesSent += read;
                metrics.Sent(read);
                if (!await session.FlushAsync().ConfigureAwait(false)) return CommandOutcome.Close;
            }
            writer.Complete(output);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            await message.DisposeAsync().ConfigureAwait(false);
        }
        return bodyLineLimit is null ? Retrieved(session, index, startedAt) : CommandOutcome.Continue;
    }

    // A file in the page cache reads in microseconds; the async path would hop to the thread pool and back for
    // every chunk, which costs more than the read itself.
    private static bool IsFile(Stream message) => message is FileStream or WireFormFile;

    private static CommandOutcome Retrieved(Pop3Session session, int index, long startedAt)
    {
        session.RetrievedCount++;
        session.Transaction!.MarkRetrieved(index);
        if (startedAt != 0) session.Server.Metrics.Retrieved(session.Server.TimeProvider.GetElapsedTime(startedAt));
        return CommandOutcome.Continue;
    }
}
