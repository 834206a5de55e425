using System.Text.Json;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// Writes a lab run's timing rows as JSON lines (<c>lab --jsonl FILE</c>), one per timed case, so runs of
/// several backends can be put side by side (<c>benchmarks/peer/lab_table.py</c>):
/// <c>{"kind":"lab","backend":"cuda","device":"...","op":"gemm","variant":"tiled","case":"...","passed":true,"ms":0.01,"rate":123.4,"unit":"GFLOP/s"}</c>.
/// </summary>
internal static class LabJsonl
{
    /// <summary>Writes <paramref name="report"/>'s timing rows to <paramref name="path"/> (a temporary file, then renamed).</summary>
    public static void Write(string path, string backend, string device, LabReport report)
    {
        string temp = path + ".tmp";
        using (var stream = File.Create(temp))
        {
            foreach (var row in report.Rows.Where(r => r.Step == LabStep.Time))
            {
                using (var json = new Utf8JsonWriter(stream))
                {
                    json.WriteStartObject();
                    json.WriteString("kind", "lab");
                    json.WriteString("backend", backend);
                    json.WriteString("device", device);
                    json.WriteString("op", row.Op);
                    json.WriteString("variant", row.Variant);
                    json.WriteString("case", row.Case);
                    json.WriteBoolean("passed", row.Passed);
                    WriteNumber(json, "ms", row.Milliseconds);
                    WriteNumber(json, "rate", row.Rate);
                    json.WriteString("unit", row.Unit == LabUnit.Gflops ? "GFLOP/s" : "GB/s");
                    json.WriteEndObject();
                }
                stream.WriteByte((byte)'\n');
            }
        }
        File.Move(temp, path, overwrite: true);
    }

    // JSON has no NaN or infinity: a missing or non-finite value is null.
    private static void WriteNumber(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v)) json.WriteNumber(name, v);
        else json.WriteNull(name);
    }
}
