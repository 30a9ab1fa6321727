using Microsoft.Extensions.Logging;
using Restante.Delivery;

namespace Restante.Lmtp;

/// <summary>What every LMTP and SMTP session of one server shares.</summary>
public sealed class LmtpServerContext
{
    public LmtpServerContext(LocalDelivery delivery, LmtpLimits limits, ILoggerFactory loggerFactory, TimeProvider? timeProvider = null)
    {
        Delivery = delivery;
        Limits = limits;
        Logger = loggerFactory.CreateLogger("Restante.Lmtp");
        TimeProvider = timeProvider ?? TimeProvider.System;
    }

    public LocalDelivery Delivery { get; }

    public LmtpLimits Limits { get; }

    public ILogger Logger { get; }

    public TimeProvider TimeProvider { get; }

    public string Hostname => Delivery.Options.Hostname;
}
