using System.Buffers;
using Restante.Protocol;
using Restante.Storage;

namespace Restante.Pop3.Commands;

/// <summary>Streams a message for RETR and TOP in pooled chunks, waiting for the client after each one.</summary>
internal static class MessageSender
{
    private const int ChunkSize = 64 * 1024;

    public static async ValueTask<CommandOutcome> SendAsync(Pop3Session session, int index, string okText, long? bodyLineLimit, CancellationToken cancellationToken)
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
        if (!session.Utf8Mode)
        {
            // RFC 6856 §2.1: no raw UTF-8 header for a client that did not send UTF8 (see DowngradedMessage).
            Utf8.DowngradedMessage.Prepared prepared;
            try
            {
                prepared = await Utf8.DowngradedMessage.PrepareAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                await message.DisposeAsync().ConfigureAwait(false);
                Pop3Log.StoreFailure(session.Logger, ex, session.User!);
                return session.Reject("Message cannot be read right now.", ResponseCode.SysTemp);
            }
            if (prepared.Message is null)
            {
                await message.DisposeAsync().ConfigureAwait(false);
                return session.Reject("This message needs UTF-8 mode: send UTF8 first.", ResponseCode.Utf8);
            }
            message = prepared.Message;
            // RETR's count is the octets that follow (RFC 1939 §7 example "+OK 120 octets"); LIST keeps the stored size.
            if (prepared.SizeChange != 0 && bodyLineLimit is null)
                okText = $"{drop.Messages[index].Size + prepared.SizeChange} octets";
        }

        var output = session.Output;
        if (bodyLineLimit is null) Pop3Reply.Ok(output, okText);
        else session.WriteOk(okText);
        var writer = new MessageWriter(bodyLineLimit);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            await using (message.ConfigureAwait(false))
            {
                while (!writer.Finished)
                {
                    int read;
                    try
                    {
                        // A file in the page cache reads in microseconds; the async path would hop to the
                        // thread pool and back for every chunk, which costs more than the read itself.
                        read = message is FileStream
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
                    if (read == 0) break;
                    writer.Write(buffer.AsSpan(0, read), output);
                    session.BytesSent += read;
                    metrics.Sent(read);
                    if (!await session.FlushAsync().ConfigureAwait(false)) return CommandOutcome.Close;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        writer.Complete(output);
        if (bodyLineLimit is null)
        {
            session.RetrievedCount++;
            drop.MarkRetrieved(index);
        }
        if (startedAt != 0) metrics.Retrieved(session.Server.TimeProvider.GetElapsedTime(startedAt));
        return CommandOutcome.Continue;
    }
}
