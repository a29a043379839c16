/// Voices of qwen3-omni-flash-realtime (protocol §3.1): 17 on 2025-09-15 plus those the
/// 2025-12-01 page names. The one list: omnid warns about a voice not on it (the service adds
/// voices, so it is not an error), omni-sim refuses one not on it.
public enum RealtimeVoices {
    public static let flash = [
        "Cherry", "Ethan", "Nofish", "Jennifer", "Ryan", "Katerina", "Elias", "Jada", "Dylan", "Sunny", "Li",
        "Marcus", "Roy", "Peter", "Rocky", "Kiki", "Eric", "Serena", "Chelsie", "Momo", "Vivian", "Moon", "Maia",
        "Kai", "Bella", "Aiden",
    ]
}
