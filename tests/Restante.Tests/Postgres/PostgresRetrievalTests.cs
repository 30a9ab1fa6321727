using System.Text;
using Npgsql;
using Restante.Postgres;
using Restante.Protocol;
using Restante.Tests.Infrastructure;

namespace Restante.Tests.Postgres;

/// <summary>
/// The RETR/TOP read path of the PostgreSQL store: bodies in rows of BodyLayout.RowSize, several rows per
/// statement, rows written before schema version 4 (one TOASTed row per chunk), and the v3 → v4 upgrade.
/// </summary>
[Collection(nameof(PostgresCollection))]
public sealed class PostgresRetrievalTests
{
    // Two rows of 8000 octets per statement: row and statement boundaries both fall inside small messages.
    private const int ChunkSize = 2 * BodyLayout.RowSize;

    /// <summary>Messages whose bytes put a line end, a bare LF or a line-start dot exactly on a row or statement boundary.</summary>
    private static List<(string Name, byte[] Bytes)> TrickyMessages()
    {
        var messages = new List<(string, byte[])>
        {
            ("dot lines", Ascii("Subject: dots\r\n\r\n.\r\n..two\r\n.leading\r\nend\r\n.")),
            ("bare LF", Ascii("Subject: lf\n\nline one\nline two\n\n.dot after LF\n")),
            ("no final newline", Ascii("Subject: nf\r\n\r\nbody\r\nlast line without end")),
            ("header only", Ascii("Subject: only a header")),
            ("8-bit body", [.. Ascii("Subject: 8bit\r\n\r\n"), 0xE9, 0x80, 0xFF, (byte)'\r', (byte)'\n']),
            ("8-bit header", [.. Ascii("Subject: caf"), 0xC3, 0xA9, .. Ascii("\r\n\r\nbody\r\n")]),
            ("empty", []),
            ("bare CR", Ascii("Subject: cr\r\n\r\none\rtwo\r\n\r.three\n")),
            ("CR last", Ascii("Subject: cr last\r\n\r\nbody\r")),
            ("LF only", Ascii("\n")),
            ("dot only", Ascii(".")),
        };
        foreach (var boundary in new[] { BodyLayout.RowSize, ChunkSize, 3 * BodyLayout.RowSize })
        {
            messages.Add(($"exactly {boundary}", Filled(boundary, "")));
            messages.Add(($"CRLF split at {boundary}", Filled(boundary + 1, "\r\n")));
            messages.Add(($"bare LF at {boundary}", Filled(boundary + 1, "x\n")));
            messages.Add(($"dot line at {boundary}", Filled(boundary + 1, "\r\n.")));
            messages.Add(($"dot line after bare LF at {boundary}", Filled(boundary + 1, "\n.")));
            messages.Add(($"bare CR at {boundary}", Filled(boundary + 1, "x\r")));
        }
        return messages;
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    /// <summary>
    /// A message of CRLF lines whose <paramref name="tail"/> ends just before offset <paramref name="at"/>, then
    /// one more line. With tail "\r\n" and at = 8001, the CR is the last octet of row 0 and the LF the first of row 1.
    /// </summary>
    private static byte[] Filled(int at, string tail)
    {
        var bytes = new List<byte>(Ascii("Subject: boundary\r\nX-Filler: yes\r\n\r\n"));
        var line = 0;
        // CRLF body lines of 40 octets until the tail fits exactly.
        while (bytes.Count + 40 <= at - tail.Length) bytes.AddRange(Ascii($"line {line++:D5} ".PadRight(38, '-') + "\r\n"));
        while (bytes.Count < at - tail.Length) bytes.Add((byte)'y');
        bytes.AddRange(Ascii(tail));
        if (tail.Length > 0) bytes.AddRange(Ascii("after the boundary\r\n"));
        return [.. bytes];
    }

    private static async Task<byte[]> ReplyAsync(Transcript client, string command)
    {
        await client.SendAsync(command);
        var status = await client.ReadLineBytesAsync();
        Assert.NotNull(status);
        var reply = new MemoryStream();
        reply.Write(status);
        if (status.AsSpan().StartsWith("+OK"u8)) reply.Write(await client.ReadRawBodyAsync());
        return reply.ToArray();
    }

    [PostgresFact]
    public Task Retr_and_top_send_exactly_what_the_maildir_store_sends_across_row_and_statement_boundaries()
        => AssertSameAsMaildirAsync(compress: false);

    [PostgresFact]
    public Task Retr_and_top_send_exactly_what_the_maildir_store_sends_across_compressed_frame_boundaries()
        => AssertSameAsMaildirAsync(compress: true);

    /// <param name="compress">Bodies stored as compressed frames (one per ChunkSize: boundaries at 16000, 32000...) or raw rows.</param>
    private static async Task AssertSameAsMaildirAsync(bool compress)
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString, ChunkSize = ChunkSize, CompressBodies = compress });
        var messages = TrickyMessages();
        await using var maildir = await TestServer.StartAsync();
        maildir.AddUser("alice", "pw");
        await using var postgres = await TestServer.StartAsync(store: store);
        postgres.AddUser("alice", "pw");
        for (var i = 0; i < messages.Count; i++)
        {
            maildir.Deliver("alice", messages[i].Bytes, 1_000_000 + i);
            await store.DeliverAsync("alice", new MemoryStream(messages[i].Bytes), CancellationToken.None);
        }

        await using var fromMaildir = await maildir.LoginAsync("alice", "pw");
        await using var fromPostgres = await postgres.LoginAsync("alice", "pw");
        for (var i = 0; i < messages.Count; i++)
        {
            foreach (var command in new[] { $"RETR {i + 1}", $"TOP {i + 1} 0", $"TOP {i + 1} 3", $"TOP {i + 1} 250" })
            {
                var expected = await ReplyAsync(fromMaildir, command);
                var actual = await ReplyAsync(fromPostgres, command);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{messages[i].Name}: {command} differs ({expected.Length} vs {actual.Length} octets)");
            }
            // And the size LIST reports is what RETR sent before stuffing (a downgraded header counts its new size).
            if (messages[i].Name == "8-bit header") continue;
            var retr = await ReplyAsync(fromPostgres, $"RETR {i + 1}");
            Assert.StartsWith($"+OK {MessageOctets.Count(messages[i].Bytes)} octets", Encoding.ASCII.GetString(retr));
        }
        // The layout asked for is the one used: the filler lines compress far below an eighth.
        var frames = await ScalarAsync(connectionString, "SELECT count(*) FROM body_chunk WHERE frame_rows > 0");
        if (compress) Assert.True(frames > 0, "no body was stored compressed");
        else Assert.Equal(0, frames);
        await store.DisposeAsync();
    }

    [PostgresFact]
    public async Task A_delivered_body_is_stored_in_rows_that_stay_out_of_toast()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString, CompressBodies = false });
        var message = Filled(50_000, "\r\n");
        await store.DeliverAsync("alice", new MemoryStream(message), CancellationToken.None);

        Assert.Equal(7, await ScalarAsync(connectionString, "SELECT count(*) FROM body_chunk"));
        Assert.Equal(BodyLayout.RowSize, await ScalarAsync(connectionString, "SELECT max(octet_length(data)) FROM body_chunk"));
        // Every row kept whole in the table's own page: nothing went to the TOAST table.
        var toast = await ScalarTextAsync(connectionString, "SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'body_chunk'");
        Assert.Equal(0, await ScalarAsync(connectionString, $"SELECT count(*) FROM {toast}"));
        await using var drop = await store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal(message, await ReadAllAsync(await drop.OpenMessageAsync(0, CancellationToken.None)));
    }

    [PostgresFact]
    public async Task A_store_with_default_options_stores_even_a_compressible_body_raw()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString });
        // Filler lines that zlib shrinks far below an eighth: with compression on they would be one frame.
        var message = Filled(50_000, "\r\n");
        await store.DeliverAsync("alice", new MemoryStream(message), CancellationToken.None);

        Assert.Equal(0, await ScalarAsync(connectionString, "SELECT count(*) FROM body_chunk WHERE frame_rows IS NOT NULL OR frame_octets IS NOT NULL"));
        Assert.Equal(message.Length, await ScalarAsync(connectionString, "SELECT sum(octet_length(data)) FROM body_chunk"));
        await using var drop = await store.OpenAsync("alice", CancellationToken.None);
        Assert.Equal(message, await ReadAllAsync(await drop.OpenMessageAsync(0, CancellationToken.None)));
    }

    [PostgresFact]
    public async Task A_version_3_database_with_messages_upgrades_from_two_nodes_at_once_keeping_every_message_byte_exact()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateEmptyDatabaseAsync();
        await using (var setup = NpgsqlDataSource.Create(connectionString))
            Assert.Equal(new[] { 1, 2, 3 }, await PostgresSchema.MigrateAsync(setup, 3, CancellationToken.None));

        // Bodies as version 3 wrote them: one row per chunk, for stores configured with 4 KB (rows
        // a version-4 reader may take several at a time) and with 64 KB (TOASTed rows it takes one at a time).
        var old = new List<(string Uidl, byte[] Bytes)>
        {
            ("old-small", Ascii("Subject: small\n\n.dot\nbody\n")),
            ("old-4k", Filled(4096 * 3 + 1, "\r\n.")),
            ("old-64k", Filled(65536 * 3 + 100, "\n.")),
            ("old-exact", Filled(65536 * 2, "")),
        };
        await using (var v3 = NpgsqlDataSource.Create(connectionString))
        {
            await ExecuteAsync(v3, "INSERT INTO mailbox (name) VALUES ('alice')");
            foreach (var (uidl, bytes) in old)
                await InsertVersion3MessageAsync(v3, uidl, bytes, uidl == "old-4k" ? 4096 : 65536);
        }

        await using var first = NpgsqlDataSource.Create(connectionString);
        await using var second = NpgsqlDataSource.Create(connectionString);
        var runs = await Task.WhenAll(
            PostgresSchema.MigrateAsync(first, CancellationToken.None),
            PostgresSchema.MigrateAsync(second, CancellationToken.None));
        Assert.Equal(new[] { 4, 5 }, runs.SelectMany(r => r).Order().ToArray());
        Assert.Equal(PostgresSchema.LatestVersion, await PostgresSchema.GetVersionAsync(second, CancellationToken.None));
        Assert.Contains("toast_tuple_target=8160", await ScalarTextAsync(connectionString, "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'body_chunk'"));

        // The default ChunkSize: a statement's window of rows spans several old 64 KB rows, the last one short.
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString });
        var fresh = Filled(3 * BodyLayout.RowSize + 1, "\r\n.");
        await store.DeliverAsync("alice", new MemoryStream(fresh), CancellationToken.None);
        await using var drop = await store.OpenAsync("alice", CancellationToken.None);
        var expected = old.Select(o => o.Bytes).Append(fresh).ToList();
        Assert.Equal(old.Select(o => o.Uidl), drop.Messages.Take(old.Count).Select(m => m.Uid));
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(MessageOctets.Count(expected[i]), drop.Messages[i].Size);
            Assert.Equal(expected[i], await ReadAllAsync(await drop.OpenMessageAsync(i, CancellationToken.None)));
        }
    }

    [PostgresFact]
    public async Task A_body_stream_goes_back_to_its_start_within_the_rows_it_holds_and_beyond()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString, ChunkSize = ChunkSize });
        var message = Filled(5 * BodyLayout.RowSize + 17, "\r\n");
        await store.DeliverAsync("alice", new MemoryStream(message), CancellationToken.None);
        await using var drop = await store.OpenAsync("alice", CancellationToken.None);
        await using var body = await drop.OpenMessageAsync(0, CancellationToken.None);
        var head = new byte[100];
        await body.ReadExactlyAsync(head);
        Assert.True(body.CanSeek);
        body.Seek(0, SeekOrigin.Begin);
        Assert.Equal(message, await ReadAllAsync(body));
        // Past the first statement's rows, back to the start fetches them again.
        body.Seek(0, SeekOrigin.Begin);
        Assert.Equal(message, await ReadAllAsync(body));
        Assert.Throws<NotSupportedException>(() => body.Seek(3, SeekOrigin.Begin));
    }

    [PostgresFact]
    public async Task A_body_with_a_missing_row_fails_to_read_instead_of_gluing_the_rows_around_the_gap()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString, CompressBodies = false });
        var message = Filled(4 * BodyLayout.RowSize + 17, "\r\n");
        await store.DeliverAsync("alice", new MemoryStream(message), CancellationToken.None);
        Assert.Equal(5, await ScalarAsync(connectionString, "SELECT count(*) FROM body_chunk"));
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
            await ExecuteAsync(dataSource, "DELETE FROM body_chunk WHERE seq = 1");

        await using var drop = await store.OpenAsync("alice", CancellationToken.None);
        // One statement's window holds rows 0, 2, 3 and 4: whatever the stream hands out before it fails must be the
        // message's own start (row 0), never row 2 glued behind it.
        var read = new MemoryStream();
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            await using var body = await drop.OpenMessageAsync(0, CancellationToken.None);
            var buffer = new byte[4096];
            int n;
            while ((n = await body.ReadAsync(buffer)) > 0) read.Write(buffer, 0, n);
        });
        Assert.True(read.Length <= BodyLayout.RowSize, $"{read.Length} octets came out of a body whose row 1 is missing");
        Assert.True(message.AsSpan(0, (int)read.Length).SequenceEqual(read.ToArray()));
    }

    /// <summary>Random octets: they do not compress, so they are stored raw even with compression on.</summary>
    private static byte[] Noise(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [PostgresFact]
    public async Task Compressed_and_raw_bodies_mixed_in_one_mailbox_read_back_byte_exact_whatever_the_readers_chunk_size()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        var messages = new List<byte[]>();
        async Task DeliverAsync(PostgresStoreOptions options, params byte[][] bodies)
        {
            await using var store = new PostgresMailStore(options);
            foreach (var body in bodies)
            {
                messages.Add(body);
                await store.DeliverAsync("alice", new MemoryStream(body), CancellationToken.None);
            }
        }
        // Raw rows, as a store before schema version 5 (or with CompressBodies off) wrote them.
        await DeliverAsync(new PostgresStoreOptions { ConnectionString = connectionString, CompressBodies = false }, Filled(20_000, "\r\n."));
        // Frames of 16000 raw: compressed, raw (noise), compressed again, all in one body; then a body of noise only.
        await DeliverAsync(new PostgresStoreOptions { ConnectionString = connectionString, ChunkSize = ChunkSize, CompressBodies = true },
            [.. Filled(ChunkSize, ""), .. Noise(ChunkSize, 1), .. Filled(5000, "\n.")], Noise(30_000, 2));
        // Frames of 256000 raw, more rows each than a reader with a ChunkSize of 16000 takes in one statement.
        await DeliverAsync(new PostgresStoreOptions { ConnectionString = connectionString, CompressBodies = true }, Filled(600_000, "\r\n"));

        Assert.Equal(1, await ScalarAsync(connectionString,
            "SELECT count(*) FROM (SELECT body_id FROM body_chunk GROUP BY body_id HAVING bool_or(frame_rows IS NULL) AND bool_or(frame_rows > 0)) AS mixed"));
        Assert.Equal(2, await ScalarAsync(connectionString,
            "SELECT count(*) FROM (SELECT body_id FROM body_chunk GROUP BY body_id HAVING bool_and(frame_rows IS NULL)) AS raw"));
        Assert.True(await ScalarAsync(connectionString, "SELECT max(frame_rows) FROM body_chunk") > BodyLayout.RowsPerStatement(ChunkSize));
        foreach (var readerChunkSize in new[] { ChunkSize, 256 * 1024 })
        {
            await using var reader = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString, ChunkSize = readerChunkSize });
            await using var drop = await reader.OpenAsync("alice", CancellationToken.None);
            Assert.Equal(messages.Count, drop.Messages.Count);
            for (var i = 0; i < messages.Count; i++)
            {
                Assert.Equal(MessageOctets.Count(messages[i]), drop.Messages[i].Size);
                var read = await ReadAllAsync(await drop.OpenMessageAsync(i, CancellationToken.None));
                Assert.True(messages[i].AsSpan().SequenceEqual(read), $"message {i + 1} read with ChunkSize {readerChunkSize} differs");
            }
        }
    }

    [PostgresFact]
    public async Task A_corrupt_compressed_frame_fails_to_read_and_retr_never_ends_such_a_message_with_a_dot()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var store = new PostgresMailStore(new PostgresStoreOptions { ConnectionString = connectionString, ChunkSize = ChunkSize, CompressBodies = true });
        // 1 and 3: one frame each, read whole before RETR answers. 2: frames of 16000 past the 256 KiB RETR reads before its +OK.
        var large = Filled(300_000, "\r\n");
        foreach (var body in new[] { Filled(10_000, "\r\n"), large, Filled(10_000, "\n.") })
            await store.DeliverAsync("alice", new MemoryStream(body), CancellationToken.None);
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            // One octet changed in the middle of the first body's frame and of the second's last frame; the third
            // frame's recorded size one short of what it holds.
            const string flip = "UPDATE body_chunk SET data = set_byte(data, octet_length(data) / 2, get_byte(data, octet_length(data) / 2) # 85)";
            await ExecuteAsync(dataSource, $"{flip} WHERE seq = 0 AND body_id = (SELECT body_id FROM message WHERE uid = 1)");
            await ExecuteAsync(dataSource, $"""
                {flip} WHERE (body_id, seq) = (SELECT body_id, max(seq) FROM body_chunk
                    WHERE frame_rows > 0 AND body_id = (SELECT body_id FROM message WHERE uid = 2) GROUP BY body_id)
                """);
            await ExecuteAsync(dataSource, "UPDATE body_chunk SET frame_octets = frame_octets - 1 WHERE seq = 0 AND body_id = (SELECT body_id FROM message WHERE uid = 3)");
        }

        await using var server = await TestServer.StartAsync(store: store);
        server.AddUser("alice", "pw");
        await using var client = await server.LoginAsync("alice", "pw");
        foreach (var command in new[] { "RETR 1", "TOP 1 0", "RETR 3" })
        {
            await client.SendAsync(command);
            Assert.StartsWith("-ERR [SYS/TEMP]", await client.ReadLineAsync());
        }
        await client.SendAsync("RETR 2");
        Assert.StartsWith("+OK", await client.ReadLineAsync());
        var (octets, closed) = await client.ReadSlowlyAsync(64 * 1024, TimeSpan.Zero, TimeSpan.FromSeconds(60));
        Assert.True(closed, "the session ended a message whose frame is corrupt with a final dot");
        Assert.True(octets < MessageOctets.Count(large), $"{octets} octets sent of a {large.Length}-octet message with a corrupt frame");
    }

    private static async Task InsertVersion3MessageAsync(NpgsqlDataSource dataSource, string uidl, byte[] bytes, int chunkSize)
    {
        await using var body = dataSource.CreateCommand("INSERT INTO body (length) VALUES ($1) RETURNING id");
        body.Parameters.AddWithValue((long)bytes.Length);
        var bodyId = (long)(await body.ExecuteScalarAsync())!;
        for (var seq = 0; seq * chunkSize < bytes.Length; seq++)
        {
            await using var chunk = dataSource.CreateCommand("INSERT INTO body_chunk (body_id, seq, data) VALUES ($1, $2, $3)");
            chunk.Parameters.AddWithValue(bodyId);
            chunk.Parameters.AddWithValue(seq);
            chunk.Parameters.AddWithValue(bytes.AsSpan(seq * chunkSize, Math.Min(chunkSize, bytes.Length - seq * chunkSize)).ToArray());
            await chunk.ExecuteNonQueryAsync();
        }
        await using var message = dataSource.CreateCommand("""
            WITH uid AS (UPDATE mailbox SET next_uid = next_uid + 1 WHERE name = 'alice' RETURNING id, next_uid - 1 AS uid)
            INSERT INTO message (mailbox_id, uid, uidl, octets, length, body_id) SELECT id, uid, $1, $2, $3, $4 FROM uid
            """);
        message.Parameters.AddWithValue(uidl);
        message.Parameters.AddWithValue(MessageOctets.Count(bytes));
        message.Parameters.AddWithValue((long)bytes.Length);
        message.Parameters.AddWithValue(bodyId);
        await message.ExecuteNonQueryAsync();
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> ScalarTextAsync(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
