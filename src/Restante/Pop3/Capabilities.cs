using System.Buffers;
using Restante.Protocol;

namespace Restante.Pop3;

/// <summary>
/// The CAPA reply (RFC 2449 §5). What is announced before login is announced after it too,
/// so a client that checks CAPA in both states sees nothing vanish — except STLS: its registration
/// (RFC 2595 §8, "Announced states/Valid states: AUTHORIZATION state only") announces it before
/// login only, as RFC 2449 §5 lets each capability say, and Dovecot does the same.
/// USER follows <see cref="Pop3Session.PlaintextAllowed"/>, which cannot change after login (STLS is
/// refused then), so it too is the same in both states.
/// </summary>
internal sealed class Capabilities
{
    private static readonly string Implementation = "IMPLEMENTATION Restante " +
        (typeof(Capabilities).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    public void Write(Pop3Session session)
    {
        var output = session.Output;
        session.WriteOk("Capability list follows");
        Pop3Reply.Line(output, "TOP");
        Pop3Reply.Line(output, "UIDL");
        if (session.PlaintextAllowed) Pop3Reply.Line(output, "USER");
        Pop3Reply.Line(output, "RESP-CODES");
        Pop3Reply.Line(output, "AUTH-RESP-CODE");
        Pop3Reply.Line(output, "PIPELINING");
        // RFC 6856 §2 (USER: UTF-8 names and passwords are accepted, prepared with PRECIS) and §3.
        Pop3Reply.Line(output, "UTF8 USER");
        Pop3Reply.Line(output, "LANG");
        WritePolicies(output, session);
        if (session.CanStartTls) Pop3Reply.Line(output, "STLS");
        // RFC 2449 §6.3 / RFC 5034 §6: what AUTH accepts on this connection, nothing more.
        var context = session.CreateSaslContext();
        var mechanisms = string.Join(' ', context.Services.Offered(context).Select(m => m.Name));
        if (mechanisms.Length > 0) Pop3Reply.Line(output, "SASL " + mechanisms);
        Pop3Reply.Line(output, Implementation);
        Pop3Reply.End(output);
    }

    /// <summary>
    /// RFC 2449 §6.5 and §6.7, "Announced states / possible differences: both / yes". Before login: the largest
    /// LOGIN-DELAY and the smallest EXPIRE any user can have, with "USER" when a user's own may differ (the client
    /// then asks again after login). After login: the user's own values, without "USER".
    /// </summary>
    private static void WritePolicies(IBufferWriter<byte> output, Pop3Session session)
    {
        var policies = session.Server.Policies;
        if (session.Transaction?.Store.Policy is { } own)
        {
            if (policies.LoginDelayVaries) Pop3Reply.Line(output, $"LOGIN-DELAY {Seconds(own.LoginDelay)}");
            Pop3Reply.Line(output, $"EXPIRE {own.Expire}");
            return;
        }
        if (policies.LoginDelayVaries) Pop3Reply.Line(output, $"LOGIN-DELAY {Seconds(policies.MaxLoginDelay)} USER");
        Pop3Reply.Line(output, policies.ExpireVaries ? $"EXPIRE {policies.MinExpire} USER" : "EXPIRE NEVER");
    }

    private static long Seconds(TimeSpan delay) => (long)Math.Ceiling(delay.TotalSeconds);
}
