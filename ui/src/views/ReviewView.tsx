/** The Review screen: where the bookkeeper decides, field by field, which system is right. */
import { ReviewBoard } from "../review/ReviewBoard";
import { Screen } from "../shared/Screen";

export function ReviewView() {
  return (
    <Screen
      id="review"
      title="Review"
      lead="Fields that differ between linked records, grouped by customer or sale. Pick the system that is right (or type the value); nothing is written to your systems until you push."
    >
      <ReviewBoard />
    </Screen>
  );
}
