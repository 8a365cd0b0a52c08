using System.Collections.Concurrent;

namespace ZapHub.IntegrationTests.Infrastructure;

/// <summary>Keeps every response's headers and body as a client saw them (event streams excepted: they never end).</summary>
public sealed class ResponseRecorder
{
    public sealed record Entry(string Method, string Path, int Status, string Text);

    private readonly ConcurrentQueue<Entry> entries = new();

    public IReadOnlyCollection<Entry> Entries => entries;

    public HttpMessageHandler Wrap(HttpMessageHandler inner) => new Recording(this) { InnerHandler = inner };

    private sealed class Recording(ResponseRecorder recorder) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var response = await base.SendAsync(request, ct);
            if (response.Content.Headers.ContentType?.MediaType == "text/event-stream") return response;
            await response.Content.LoadIntoBufferAsync(ct);
            var text = response.Headers + "\n" + response.Content.Headers + "\n" + await response.Content.ReadAsStringAsync(ct);
            recorder.entries.Enqueue(new Entry(request.Method.Method, request.RequestUri?.AbsolutePath ?? "", (int)response.StatusCode, text));
            return response;
        }
    }
}
