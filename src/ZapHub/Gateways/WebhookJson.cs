using System.Text.Json;
using ZapHub.Gateways.Evolution;
using ZapHub.Gateways.WppConnect;

namespace ZapHub.Gateways;

/// <summary>Turns a gateway webhook body into normalized signals. Needs only the provider kind, no client or credentials.</summary>
public static class WebhookParser
{
    public static IReadOnlyList<GatewaySignal> Parse(GatewayKind kind, JsonElement body) =>
        kind == GatewayKind.Evolution ? EvolutionMapping.Parse(body) : WppConnectMapping.Parse(body);
}

/// <summary>Tolerant reads of gateway JSON: a missing or differently typed field is null, never an exception.</summary>
internal static class JsonFields
{
    public static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static long? Int(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var i) ? i : null;

    public static bool Bool(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
}
