namespace Outbox.Core.Templates;

/// <summary>A template asked the data for a value it does not hold. <see cref="Name"/> is the name the template used, <see cref="Path"/> where it was looked up.</summary>
internal sealed class MissingVariableException(string name, string path) : Exception($"{path} is not in the data")
{
    public string Name { get; } = name;

    public string Path { get; } = path;
}
