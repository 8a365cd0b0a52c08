using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ZapHub.Features.Tenancy;

namespace ZapHub.IntegrationTests.Infrastructure;

public sealed record ApiRoute(string Method, string Pattern, IReadOnlyList<string> Parameters, Type? BodyType, TenantRouteMetadata? Tenant)
{
    public string Fill(Func<string, string> value) =>
        "/" + string.Join('/', Pattern.Split('/').Select(segment =>
            segment.StartsWith('{') ? value(segment.Trim('{', '}').Split(':')[0]) : segment));

    public override string ToString() => $"{Method} /{Pattern}";
}

public static class Routes
{
    /// <summary>Every API route the running app exposes, read from its own endpoint table.</summary>
    public static IReadOnlyList<ApiRoute> Api(ZapHubApp app) =>
        app.Services.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.TrimStart('/').StartsWith("api/v1") == true)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(method => new ApiRoute(
                method,
                e.RoutePattern.RawText!.TrimStart('/'),
                e.RoutePattern.Parameters.Select(p => p.Name).ToList(),
                e.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType,
                e.Metadata.GetMetadata<TenantRouteMetadata>())))
            .ToList();
}
