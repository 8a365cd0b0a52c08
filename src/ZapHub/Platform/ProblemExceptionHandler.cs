using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace ZapHub.Platform;

/// <summary>
/// Maps the exceptions a caller can cause to ProblemDetails. Anything else stays a 500, logged by the
/// framework, with no detail leaked to the client.
/// </summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails? problem = exception switch
        {
            ProblemException { Field: { } field } p => new ValidationProblemDetails(
                new Dictionary<string, string[]> { [field] = [p.Message] }) { Status = p.Status, Title = "One or more fields are invalid.", Extensions = { ["code"] = p.Code } },
            ProblemException p => new ProblemDetails { Status = p.Status, Title = p.Message, Extensions = { ["code"] = p.Code } },
            // A bug that slipped past the query filter; the save-time check stopped it. Log it loudly, and answer
            // like any other tenant's resource: not found.
            Data.TenantIsolationException => LogIsolation(exception, context),
            BadHttpRequestException b => new ProblemDetails { Status = b.StatusCode, Title = "The request could not be read.", Detail = Describe(b) },
            _ when Data.StorageFailure.Is(exception) => Unavailable(exception, context),
            _ => null,
        };
        if (problem is null) return false;
        context.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>The database is down or busy: nothing was changed, and the same request can be sent again shortly.</summary>
    private ProblemDetails Unavailable(Exception exception, HttpContext context)
    {
        logger.LogWarning(exception, "Storage unavailable while serving {Path}", context.Request.Path);
        context.Response.Headers.RetryAfter = "5";
        return new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable, Title = "Storage is unavailable. Try again shortly.",
            Extensions = { ["code"] = "storage_unavailable" },
        };
    }

    private ProblemDetails LogIsolation(Exception exception, HttpContext context)
    {
        logger.LogError(exception, "Tenant isolation check stopped a write on {Path}", context.Request.Path);
        return new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = "Not found." };
    }

    // The framework's messages name the parameter and the reason (e.g. "Failed to read parameter ... as JSON")
    // without echoing the body, so they are safe and useful to show.
    private static string Describe(BadHttpRequestException b) =>
        b.InnerException is System.Text.Json.JsonException json ? $"Malformed JSON: {json.Message}" : b.Message;
}
