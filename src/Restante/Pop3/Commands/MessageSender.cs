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

        var output = session.Output;
        Pop3Reply.Ok(output, okText);
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
            drop.Store.MarkRetrieved(index);
        }
        return CommandOutcome.Continue;
    }
}
