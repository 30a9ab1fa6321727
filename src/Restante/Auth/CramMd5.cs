using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Restante.Auth;

/// <summary>
/// HMAC-MD5 (RFC 2104) for CRAM-MD5 (RFC 2195), computed either from the password or from Dovecot's stored
/// "{CRAM-MD5}" secret. Dovecot does not store the password: it stores the two MD5 states reached after hashing the
/// 64-byte outer and inner pads (<c>hmac_md5_get_cram_context</c>: outer a,b,c,d then inner a,b,c,d, each a
/// little-endian 32-bit word, written as 64 hex digits). Those states are all HMAC needs, and .NET's MD5 cannot
/// start from a given state, hence the small MD5 compression function below.
/// </summary>
/// <remarks>
/// The stored context is still plaintext-equivalent for CRAM-MD5 (whoever has it can answer any challenge), which
/// is why CRAM-MD5 is an opt-in mechanism. It does not reveal the password itself.
/// </remarks>
internal static class CramMd5
{
    public const int ContextLength = 32;
    private const int BlockLength = 64;

    private static readonly uint[] s_initial = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

    private static readonly int[] s_shifts =
    [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
        5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];

    private static readonly uint[] s_constants = CreateConstants();

    /// <summary>The 32-byte context Dovecot stores for <paramref name="password"/> (UTF-8 bytes).</summary>
    public static byte[] ContextFromPassword(ReadOnlySpan<byte> password)
    {
        Span<byte> key = stackalloc byte[BlockLength];
        key.Clear();
        if (password.Length > BlockLength)
        {
#pragma warning disable CA5351 // RFC 2104 with MD5 is what RFC 2195 specifies.
            MD5.HashData(password, key);
#pragma warning restore CA5351
        }
        else
        {
            password.CopyTo(key);
        }
        Span<byte> pad = stackalloc byte[BlockLength];
        Span<uint> outer = stackalloc uint[4];
        Span<uint> inner = stackalloc uint[4];
        s_initial.CopyTo(outer);
        s_initial.CopyTo(inner);
        for (var i = 0; i < BlockLength; i++) pad[i] = (byte)(key[i] ^ 0x5c);
        Compress(outer, pad);
        for (var i = 0; i < BlockLength; i++) pad[i] = (byte)(key[i] ^ 0x36);
        Compress(inner, pad);
        CryptographicOperations.ZeroMemory(key);
        CryptographicOperations.ZeroMemory(pad);

        var context = new byte[ContextLength];
        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(context.AsSpan(i * 4), outer[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(context.AsSpan(16 + (i * 4)), inner[i]);
        }
        return context;
    }

    /// <summary>HMAC-MD5 of <paramref name="message"/> with the key whose context is <paramref name="context"/>.</summary>
    public static byte[] Hmac(ReadOnlySpan<byte> context, ReadOnlySpan<byte> message)
    {
        if (context.Length != ContextLength) throw new ArgumentException("A CRAM-MD5 context is 32 bytes.", nameof(context));
        Span<uint> state = stackalloc uint[4];
        for (var i = 0; i < 4; i++) state[i] = BinaryPrimitives.ReadUInt32LittleEndian(context[(16 + (i * 4))..]);
        Span<byte> innerDigest = stackalloc byte[16];
        Finish(state, message, innerDigest);
        for (var i = 0; i < 4; i++) state[i] = BinaryPrimitives.ReadUInt32LittleEndian(context[(i * 4)..]);
        var digest = new byte[16];
        Finish(state, innerDigest, digest);
        return digest;
    }

    // MD5 of (one already-hashed 64-byte block || message), continuing from state.
    private static void Finish(Span<uint> state, ReadOnlySpan<byte> message, Span<byte> digest)
    {
        var offset = 0;
        while (message.Length - offset >= BlockLength)
        {
            Compress(state, message.Slice(offset, BlockLength));
            offset += BlockLength;
        }
        Span<byte> tail = stackalloc byte[BlockLength * 2];
        tail.Clear();
        var rest = message.Length - offset;
        message[offset..].CopyTo(tail);
        tail[rest] = 0x80;
        var tailLength = rest + 9 <= BlockLength ? BlockLength : BlockLength * 2;
        var bits = (ulong)(BlockLength + message.Length) * 8;
        BinaryPrimitives.WriteUInt64LittleEndian(tail[(tailLength - 8)..], bits);
        for (var i = 0; i < tailLength; i += BlockLength) Compress(state, tail.Slice(i, BlockLength));
        for (var i = 0; i < 4; i++) BinaryPrimitives.WriteUInt32LittleEndian(digest[(i * 4)..], state[i]);
    }

    // RFC 1321 §3.4, one 64-byte block.
    private static void Compress(Span<uint> state, ReadOnlySpan<byte> block)
    {
        Span<uint> m = stackalloc uint[16];
        for (var i = 0; i < 16; i++) m[i] = BinaryPrimitives.ReadUInt32LittleEndian(block[(i * 4)..]);
        uint a = state[0], b = state[1], c = state[2], d = state[3];
        for (var i = 0; i < 64; i++)
        {
            uint f;
            int g;
            switch (i / 16)
            {
                case 0: f = (b & c) | (~b & d); g = i; break;
                case 1: f = (d & b) | (~d & c); g = ((5 * i) + 1) % 16; break;
                case 2: f = b ^ c ^ d; g = ((3 * i) + 5) % 16; break;
                default: f = c ^ (b | ~d); g = (7 * i) % 16; break;
            }
            var rotated = uint.RotateLeft(a + f + s_constants[i] + m[g], s_shifts[i]);
            a = d;
            d = c;
            c = b;
            b += rotated;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
    }

    private static uint[] CreateConstants()
    {
        var k = new uint[64];
        for (var i = 0; i < 64; i++) k[i] = (uint)(long)Math.Floor(Math.Abs(Math.Sin(i + 1)) * 4294967296.0);
        return k;
    }
}
