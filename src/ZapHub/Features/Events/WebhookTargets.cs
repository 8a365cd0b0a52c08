using ZapHub.Platform;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace ZapHub.Features.Events;

/// <summary>Name resolution, as its own service so tests can play a DNS server that changes its answer.</summary>
public class HostResolver
{
    public virtual Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct) => Dns.GetHostAddressesAsync(host, ct);
}

/// <summary>A tenant URL that must not be called: it leads into ZapHub's own network.</summary>
/// <summary>An address webhooks may not go to, and why (a note the tenant reads in their language; English as the message).</summary>
public sealed class RefusedTargetException(Note why) : Exception(Components.Text.English(why.Store()))
{
    public Note Why { get; } = why;
}

/// <summary>
/// The SSRF guard. Tenants choose webhook URLs, and ZapHub calls them from inside its network, so every address a
/// URL resolves to is checked: on save (a clear error at once) and again at connect time, on the address actually
/// dialled (a name that resolved somewhere public on save may point inside later).
/// </summary>
public sealed class WebhookTargets(HostResolver resolver, IOptions<WebhookOptions> options)
{
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Null when the URL may be used; otherwise why not, as a note for the tenant.</summary>
    public async Task<Note?> CheckAsync(string? url, CancellationToken ct)
    {
        if (!Uri.TryCreate(url?.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
            return Note.Of("url_not_http");
        if (uri.UserInfo.Length > 0) return Note.Of("url_has_credentials");
        try
        {
            await AddressesAsync(uri.IdnHost, ct);
            return null;
        }
        catch (RefusedTargetException ex)
        {
            return ex.Why;
        }
    }

    /// <summary>Opens the connection to an allowed address of the host, never to a refused one.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var addresses = await AddressesAsync(context.DnsEndPoint.Host, ct);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task<IPAddress[]> AddressesAsync(string host, CancellationToken ct)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal)) addresses = [literal];
        else
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(ResolveTimeout);
            try { addresses = await resolver.ResolveAsync(host, timeout.Token); }
            catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                throw new RefusedTargetException(Note.Of("host_unresolved", ("host", host)));
            }
            if (addresses.Length == 0) throw new RefusedTargetException(Note.Of("host_unresolved", ("host", host)));
        }
        // One refused address refuses the host: a name that answers both inside and outside is not to be trusted.
        foreach (var address in addresses)
            if (Refusal(address, options.Value.AllowPrivateTargets) is { } why)
                throw new RefusedTargetException(host == address.ToString()
                    ? Note.Of("address_refused", ("address", address), ("why", Note.Key("why." + why)))
                    : Note.Of("host_address_refused", ("host", host), ("address", address), ("why", Note.Key("why." + why))));
        return addresses;
    }

    /// <summary>Why an address is refused (a short description), or null when it may be called.</summary>
    public static string? Refusal(IPAddress address, bool allowPrivate)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            // Cloud metadata services hand out credentials: never reachable, whatever the operator allows.
            if (b is [169, 254, 169, 254] or [100, 100, 100, 200]) return "cloud_metadata";
            if (b[0] == 169 && b[1] == 254) return "link_local";
            if (b[0] == 0) return "unspecified";
            if (b[0] >= 224) return "multicast";
            if (allowPrivate) return null;
            if (b[0] == 127) return "loopback";
            if (b[0] == 10 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168)) return "private";
            if (b[0] == 100 && b[1] >= 64 && b[1] <= 127) return "cgnat";
            if ((b[0] == 198 && (b[1] == 18 || b[1] == 19)) || (b[0] == 192 && b[1] == 0 && b[2] == 0)) return "reserved";
            return null;
        }
        if (address.Equals(IPAddress.Parse("fd00:ec2::254"))) return "cloud_metadata";
        if (address.IsIPv6LinkLocal) return "link_local";
        if (address.Equals(IPAddress.IPv6Any)) return "unspecified";
        if (address.IsIPv6Multicast) return "multicast";
        if (allowPrivate) return null;
        if (IPAddress.IsLoopback(address)) return "loopback";
        if ((b[0] & 0xfe) == 0xfc || address.IsIPv6SiteLocal) return "private";
        // NAT64 (64:ff9b::/96) carries an IPv4 address: judge that one.
        if (b is [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ..]) return Refusal(new IPAddress(b[12..]), allowPrivate);
        return null;
    }
}
