/** The matching rule lives with the reconciler, which adopts entries by it (follow mode). */
export {
  type CloudMapServiceView,
  type DiscoverWorld,
  type EntryMatch,
  type MatchStatus,
  matchEntries,
  matchEntry,
} from '../../functions/lib/follow/match';
